package dev.streamrec.schemas;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;

import org.apache.avro.Schema;
import org.apache.avro.SchemaNormalization;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.EncoderFactory;
import org.apache.avro.message.BinaryMessageDecoder;
import org.apache.avro.message.MissingSchemaException;
import org.apache.avro.message.SchemaStore;
import org.apache.avro.specific.SpecificData;
import org.apache.avro.specific.SpecificDatumWriter;
import org.apache.avro.specific.SpecificRecordBase;

/**
 * Avro single-object encoding (2-byte marker, 8-byte schema fingerprint, binary body) for one record type.
 *
 * <p>The decoder knows the current schema and every released one kept under {@code avro-history/}, so it
 * reads data written by older producers by Avro's resolution rules, without a schema registry. Instances are
 * thread-safe and serializable (Flink ships them inside functions); the codecs are rebuilt lazily.
 *
 * <p>Encoding writes the same bytes as Avro's {@code BinaryMessageEncoder} (V1 header: {@code C3 01} + the schema's
 * CRC-64-AVRO parsing fingerprint), but through a buffered encoder into a per-thread buffer: Avro's message encoder
 * writes byte by byte into a synchronized stream, which cost a quarter of feature-job's sink thread.
 */
public final class AvroSingleObjectSerde<T extends SpecificRecordBase> implements java.io.Serializable {
    private static final long serialVersionUID = 1L;

    static {
        Records.useGeneratedCoders();
    }

    private final Class<T> type;
    private transient volatile ThreadLocal<Writer<T>> writers;
    private transient volatile BinaryMessageDecoder<T> decoder;

    /** One thread's encoding buffers. */
    private static final class Writer<T> {
        final byte[] header;
        final SpecificDatumWriter<T> datumWriter;
        final ByteArrayOutputStream out = new ByteArrayOutputStream(1024);
        BinaryEncoder encoder;

        Writer(Class<T> type, Schema schema) {
            byte[] fingerprint;
            try {
                fingerprint = SchemaNormalization.parsingFingerprint("CRC-64-AVRO", schema);
            } catch (java.security.NoSuchAlgorithmException e) {
                throw new IllegalStateException(e);
            }
            header = new byte[2 + fingerprint.length];
            header[0] = (byte) 0xC3;
            header[1] = (byte) 0x01;
            System.arraycopy(fingerprint, 0, header, 2, fingerprint.length);
            datumWriter = new SpecificDatumWriter<>(schema, SpecificData.getForClass(type));
        }

        byte[] encode(T record) throws IOException {
            out.reset();
            out.write(header);
            encoder = EncoderFactory.get().binaryEncoder(out, encoder);
            datumWriter.write(record, encoder);
            encoder.flush();
            return out.toByteArray();
        }
    }

    public AvroSingleObjectSerde(Class<T> type) {
        this.type = type;
    }

    public static <T extends SpecificRecordBase> AvroSingleObjectSerde<T> of(Class<T> type) {
        return new AvroSingleObjectSerde<>(type);
    }

    public Class<T> type() {
        return type;
    }

    public Schema schema() {
        return SpecificData.get().getSchema(type);
    }

    public byte[] encode(T record) {
        try {
            return writers().get().encode(record);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot encode " + type.getSimpleName(), e);
        }
    }

    /** Decodes one message; throws {@link IOException} (or an Avro runtime exception) for bytes that are not one. */
    public T decode(byte[] bytes) throws IOException {
        if (bytes == null) {
            throw new IOException("null value");
        }
        try {
            return decoder().decode(bytes);
        } catch (MissingSchemaException e) {
            // Off the happy path: only a message of an unknown schema pays for naming it.
            throw new MissingSchemaException(unknownFingerprintMessage(bytes));
        }
    }

    /**
     * Why a message with a well-formed header cannot be read as this type: the record type its fingerprint belongs to
     * when it is one of the project's (a valid record on the wrong topic), else that the fingerprint is unknown.
     */
    String unknownFingerprintMessage(byte[] bytes) {
        long fingerprint = ByteBuffer.wrap(bytes, 2, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        String hex = String.format("%016x", fingerprint);
        String expected = type.getSimpleName();
        return KnownFingerprints.recordName(fingerprint)
                .map(name -> "a " + name + " record (fingerprint " + hex + "), expected " + expected)
                .orElse("unknown schema fingerprint " + hex + ", expected " + expected);
    }

    /** Every schema fingerprint of the project's records (current and released), built on first use. */
    private static final class KnownFingerprints {
        private static final Map<Long, String> NAMES = build();

        static Optional<String> recordName(long fingerprint) {
            return Optional.ofNullable(NAMES.get(fingerprint));
        }

        private static Map<Long, String> build() {
            Map<Long, String> names = new HashMap<>();
            for (Class<? extends SpecificRecordBase> type : Records.ALL) {
                String name = type.getSimpleName();
                names.put(SchemaNormalization.parsingFingerprint64(SpecificData.get().getSchema(type)), name);
                for (Schema old : SchemaHistory.releasedVersions(name)) {
                    names.put(SchemaNormalization.parsingFingerprint64(old), name);
                }
            }
            return names;
        }
    }

    private ThreadLocal<Writer<T>> writers() {
        ThreadLocal<Writer<T>> w = writers;
        if (w == null) {
            Schema schema = schema();
            w = ThreadLocal.withInitial(() -> new Writer<>(type, schema));
            writers = w;
        }
        return w;
    }

    private BinaryMessageDecoder<T> decoder() {
        BinaryMessageDecoder<T> d = decoder;
        if (d == null) {
            SchemaStore.Cache store = new SchemaStore.Cache();
            for (Schema old : SchemaHistory.releasedVersions(type.getSimpleName())) {
                store.addSchema(old);
            }
            d = new BinaryMessageDecoder<>(SpecificData.getForClass(type), schema(), store);
            decoder = d;
        }
        return d;
    }

    static String readResource(String path) {
        try (InputStream in = AvroSingleObjectSerde.class.getClassLoader().getResourceAsStream(path)) {
            if (in == null) {
                return null;
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

}
