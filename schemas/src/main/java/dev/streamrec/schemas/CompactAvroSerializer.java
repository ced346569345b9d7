package dev.streamrec.schemas;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.Objects;

import org.apache.avro.Schema;
import org.apache.avro.SchemaCompatibility;
import org.apache.avro.io.BinaryDecoder;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.DecoderFactory;
import org.apache.avro.io.EncoderFactory;
import org.apache.avro.specific.SpecificData;
import org.apache.avro.specific.SpecificDatumReader;
import org.apache.avro.specific.SpecificDatumWriter;
import org.apache.avro.specific.SpecificRecordBase;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.api.common.typeutils.TypeSerializerSchemaCompatibility;
import org.apache.flink.api.common.typeutils.TypeSerializerSnapshot;
import org.apache.flink.core.memory.DataInputView;
import org.apache.flink.core.memory.DataOutputView;
import org.apache.flink.types.StringValue;

/**
 * A state serializer for an Avro record that stores Avro's own binary encoding (variable-length ints and longs),
 * prefixed by its length as a varint. Flink's {@code AvroSerializer} writes ints and longs at fixed width (its
 * {@code DataOutputEncoder}): for a record of many small numbers, such as a seen set's layer headers, that is a
 * few percent of the state (measured: docs/benchmarks.md, dedup-job).
 *
 * <p>Evolves like Flink's: the snapshot keeps the writer schema; a build whose schema Avro can resolve from it
 * restores with {@code compatibleAfterMigration} (the old bytes are read through Avro's resolution into the new
 * class and written again), an identical schema as is. State written by Flink's {@code AvroSerializer} migrates
 * the same way, so a state can switch to this serializer across a savepoint.
 */
public final class CompactAvroSerializer<T extends SpecificRecordBase> extends TypeSerializer<T> {
    private static final long serialVersionUID = 1L;
    private static final String FLINK_AVRO_SNAPSHOT = "org.apache.flink.formats.avro.typeutils.AvroSerializerSnapshot";

    private final Class<T> type;
    /** The schema of the bytes this instance reads and writes (the class's own, unless restored from an older one). */
    private final String schemaJson;

    private transient Schema schema;
    private transient SpecificDatumWriter<T> writer;
    private transient SpecificDatumReader<T> reader;
    private transient Buffer buffer;
    private transient BinaryEncoder encoder;
    private transient BinaryDecoder decoder;
    private transient byte[] readBuffer;

    public CompactAvroSerializer(Class<T> type) {
        this(type, SpecificData.get().getSchema(type));
    }

    CompactAvroSerializer(Class<T> type, Schema schema) {
        this.type = Objects.requireNonNull(type);
        this.schemaJson = schema.toString();
    }

    /** A ByteArrayOutputStream whose array can be written out without a copy. */
    private static final class Buffer extends ByteArrayOutputStream {
        Buffer() {
            super(1024);
        }

        void writeTo(DataOutputView out) throws IOException {
            out.write(buf, 0, count);
        }
    }

    private Schema schema() {
        if (schema == null) {
            Records.useGeneratedCoders();
            schema = new Schema.Parser().parse(schemaJson);
            SpecificData data = SpecificData.getForClass(type);
            writer = new SpecificDatumWriter<>(schema, data);
            reader = new SpecificDatumReader<>(schema, data.getSchema(type), data);
            buffer = new Buffer();
            readBuffer = new byte[1024];
        }
        return schema;
    }

    @Override
    public boolean isImmutableType() {
        return false;
    }

    @Override
    public TypeSerializer<T> duplicate() {
        return new CompactAvroSerializer<>(type, schema()); // the codecs and buffers are per instance
    }

    @Override
    @SuppressWarnings("unchecked")
    public T createInstance() {
        return (T) SpecificData.getForClass(type).newRecord(null, SpecificData.getForClass(type).getSchema(type));
    }

    @Override
    public T copy(T from) {
        return SpecificData.getForClass(type).deepCopy(from.getSchema(), from);
    }

    @Override
    public T copy(T from, T reuse) {
        return copy(from);
    }

    @Override
    public int getLength() {
        return -1;
    }

    @Override
    public void serialize(T record, DataOutputView out) throws IOException {
        schema();
        buffer.reset();
        encoder = EncoderFactory.get().binaryEncoder(buffer, encoder);
        writer.write(record, encoder);
        encoder.flush();
        writeVarint(buffer.size(), out);
        buffer.writeTo(out);
    }

    @Override
    public T deserialize(DataInputView in) throws IOException {
        schema();
        int length = readVarint(in);
        if (readBuffer.length < length) {
            readBuffer = new byte[Math.max(length, 2 * readBuffer.length)];
        }
        in.readFully(readBuffer, 0, length);
        decoder = DecoderFactory.get().binaryDecoder(readBuffer, 0, length, decoder);
        return reader.read(null, decoder);
    }

    @Override
    public T deserialize(T reuse, DataInputView in) throws IOException {
        return deserialize(in);
    }

    @Override
    public void copy(DataInputView in, DataOutputView out) throws IOException {
        int length = readVarint(in);
        writeVarint(length, out);
        out.write(in, length);
    }

    private static void writeVarint(int value, DataOutputView out) throws IOException {
        while ((value & ~0x7F) != 0) {
            out.writeByte((value & 0x7F) | 0x80);
            value >>>= 7;
        }
        out.writeByte(value);
    }

    private static int readVarint(DataInputView in) throws IOException {
        int value = 0;
        for (int shift = 0; shift < 32; shift += 7) {
            int b = in.readUnsignedByte();
            value |= (b & 0x7F) << shift;
            if ((b & 0x80) == 0) {
                return value;
            }
        }
        throw new IOException("malformed length");
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof CompactAvroSerializer<?> other && type.equals(other.type) && schemaJson.equals(other.schemaJson);
    }

    @Override
    public int hashCode() {
        return Objects.hash(type, schemaJson);
    }

    @Override
    public TypeSerializerSnapshot<T> snapshotConfiguration() {
        return new Snapshot<>(type, schema());
    }

    /** The serializer's configuration in a checkpoint: the record class and the schema its bytes were written in. */
    public static final class Snapshot<T extends SpecificRecordBase> implements TypeSerializerSnapshot<T> {
        private static final int VERSION = 1;
        private Class<T> type;
        private Schema schema;

        /** For Flink, which reads the snapshot into an empty instance. */
        public Snapshot() {}

        Snapshot(Class<T> type, Schema schema) {
            this.type = type;
            this.schema = schema;
        }

        @Override
        public int getCurrentVersion() {
            return VERSION;
        }

        @Override
        public void writeSnapshot(DataOutputView out) throws IOException {
            out.writeUTF(type.getName());
            StringValue.writeString(schema.toString(), out);
        }

        @Override
        @SuppressWarnings("unchecked")
        public void readSnapshot(int readVersion, DataInputView in, ClassLoader classLoader) throws IOException {
            if (readVersion != VERSION) {
                throw new IOException("unknown CompactAvroSerializer snapshot version " + readVersion);
            }
            String className = in.readUTF();
            try {
                type = (Class<T>) Class.forName(className, false, classLoader);
            } catch (ClassNotFoundException e) {
                throw new IOException("state record class " + className + " is not on the class path", e);
            }
            schema = new Schema.Parser().parse(StringValue.readString(in));
        }

        @Override
        public TypeSerializer<T> restoreSerializer() {
            return new CompactAvroSerializer<>(type, schema);
        }

        @Override
        public TypeSerializerSchemaCompatibility<T> resolveSchemaCompatibility(TypeSerializerSnapshot<T> old) {
            if (old instanceof Snapshot<T> previous) {
                if (!previous.type.getName().equals(type.getName())) {
                    return TypeSerializerSchemaCompatibility.incompatible();
                }
                if (previous.schema.equals(schema)) {
                    return TypeSerializerSchemaCompatibility.compatibleAsIs();
                }
                return SchemaCompatibility.checkReaderWriterCompatibility(schema, previous.schema).getType()
                        == SchemaCompatibility.SchemaCompatibilityType.COMPATIBLE
                        ? TypeSerializerSchemaCompatibility.compatibleAfterMigration()
                        : TypeSerializerSchemaCompatibility.incompatible();
            }
            // Flink's own Avro serializer: its restored serializer reads the old bytes (resolving its schema).
            return old.getClass().getName().equals(FLINK_AVRO_SNAPSHOT)
                    ? TypeSerializerSchemaCompatibility.compatibleAfterMigration()
                    : TypeSerializerSchemaCompatibility.incompatible();
        }
    }
}
