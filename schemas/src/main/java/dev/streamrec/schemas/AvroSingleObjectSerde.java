package dev.streamrec.schemas;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;

import org.apache.avro.Schema;
import org.apache.avro.message.BinaryMessageDecoder;
import org.apache.avro.message.BinaryMessageEncoder;
import org.apache.avro.message.SchemaStore;
import org.apache.avro.specific.SpecificData;
import org.apache.avro.specific.SpecificRecordBase;

/**
 * Avro single-object encoding (2-byte marker, 8-byte schema fingerprint, binary body) for one record type.
 *
 * <p>The decoder knows the current schema and every released one kept under {@code avro-history/}, so it
 * reads data written by older producers by Avro's resolution rules, without a schema registry. Instances are
 * thread-safe and serializable (Flink ships them inside functions); the codecs are rebuilt lazily.
 */
public final class AvroSingleObjectSerde<T extends SpecificRecordBase> implements java.io.Serializable {
    private static final long serialVersionUID = 1L;

    private final Class<T> type;
    private transient volatile BinaryMessageEncoder<T> encoder;
    private transient volatile BinaryMessageDecoder<T> decoder;

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
            ByteBuffer buffer = encoder().encode(record);
            byte[] bytes = new byte[buffer.remaining()];
            buffer.get(bytes);
            return bytes;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot encode " + type.getSimpleName(), e);
        }
    }

    /** Decodes one message; throws {@link IOException} (or an Avro runtime exception) for bytes that are not one. */
    public T decode(byte[] bytes) throws IOException {
        if (bytes == null) {
            throw new IOException("null value");
        }
        return decoder().decode(bytes);
    }

    private BinaryMessageEncoder<T> encoder() {
        BinaryMessageEncoder<T> e = encoder;
        if (e == null) {
            e = new BinaryMessageEncoder<>(SpecificData.getForClass(type), schema());
            encoder = e;
        }
        return e;
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
