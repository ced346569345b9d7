package dev.streamrec.schemas;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericDatumWriter;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.generic.IndexedRecord;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.EncoderFactory;
import org.apache.avro.specific.SpecificDatumWriter;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.api.common.typeutils.TypeSerializerSchemaCompatibility;
import org.apache.flink.api.common.typeutils.TypeSerializerSnapshot;
import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.core.memory.DataOutputSerializer;
import org.junit.jupiter.api.Test;

import dev.streamrec.avro.BloomLayer;
import dev.streamrec.avro.Impression;
import dev.streamrec.avro.SeenSet;

class CompactAvroSerializerTest {
    private static SeenSet seenSet() {
        return SeenSet.newBuilder()
                .setRepresentation("compact")
                .setHot(ByteBuffer.wrap(new byte[] {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}))
                .setHotBase(1_764_000_000_000L)
                .setLayers(List.of(new BloomLayer(1_764_000_000_000L, 1_764_000_500_000L, 3, 256,
                        ByteBuffer.wrap(new byte[] {9, 9, 9}), ByteBuffer.allocate(0))))
                .setNewestSeen(1_764_000_500_000L)
                .setPeriodMs(7L * 24 * 3600 * 1000)
                .build();
    }

    private static <T> byte[] write(TypeSerializer<T> serializer, T value) throws Exception {
        DataOutputSerializer out = new DataOutputSerializer(64);
        serializer.serialize(value, out);
        return out.getCopyOfBuffer();
    }

    private static <T> T read(TypeSerializer<T> serializer, byte[] bytes) throws Exception {
        DataInputDeserializer in = new DataInputDeserializer(bytes);
        T value = serializer.deserialize(in);
        assertThat(in.available()).as("bytes left after the record").isZero();
        return value;
    }

    private static byte[] avroBinary(Schema writerSchema, SeenSet record) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        BinaryEncoder encoder = EncoderFactory.get().binaryEncoder(out, null);
        new SpecificDatumWriter<SeenSet>(writerSchema).write(record, encoder);
        encoder.flush();
        return out.toByteArray();
    }

    /**
     * The record's bytes in an older schema, written field by field by name (generic: the generated coders always
     * write the current layout).
     */
    private static byte[] genericBinary(Schema writerSchema, SeenSet record) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        BinaryEncoder encoder = EncoderFactory.get().binaryEncoder(out, null);
        new GenericDatumWriter<GenericRecord>(writerSchema).write(toGeneric(writerSchema, record), encoder);
        encoder.flush();
        return out.toByteArray();
    }

    private static GenericRecord toGeneric(Schema schema, IndexedRecord record) {
        GenericRecord generic = new GenericData.Record(schema);
        for (Schema.Field field : schema.getFields()) {
            Object value = record.get(record.getSchema().getField(field.name()).pos());
            if (field.schema().getType() == Schema.Type.ARRAY && field.schema().getElementType().getType() == Schema.Type.RECORD) {
                List<GenericRecord> items = new ArrayList<>();
                for (Object item : (List<?>) value) {
                    items.add(toGeneric(field.schema().getElementType(), (IndexedRecord) item));
                }
                value = items;
            }
            generic.put(field.name(), value);
        }
        return generic;
    }

    @Test
    void storesAvroBinaryBehindAVarintLength() throws Exception {
        CompactAvroSerializer<SeenSet> serializer = new CompactAvroSerializer<>(SeenSet.class);
        SeenSet record = seenSet();
        byte[] bytes = write(serializer, record);
        byte[] body = avroBinary(SeenSet.getClassSchema(), record);
        assertThat(bytes.length).isEqualTo(body.length + 1); // a body under 128 bytes: a one-byte length
        assertThat(read(serializer, bytes)).isEqualTo(record);
        assertThat(read(serializer.duplicate(), bytes)).isEqualTo(record);

        DataOutputSerializer copied = new DataOutputSerializer(64);
        serializer.copy(new DataInputDeserializer(bytes), copied);
        assertThat(copied.getCopyOfBuffer()).isEqualTo(bytes);
        assertThat(serializer.copy(record)).isEqualTo(record).isNotSameAs(record);
    }

    @Test
    void readsLongRecordsAndManyInARow() throws Exception {
        CompactAvroSerializer<SeenSet> serializer = new CompactAvroSerializer<>(SeenSet.class);
        SeenSet big = seenSet();
        big.getLayers().get(0).setBits(ByteBuffer.wrap(new byte[5000]));
        DataOutputSerializer out = new DataOutputSerializer(64);
        serializer.serialize(big, out);
        serializer.serialize(seenSet(), out);
        DataInputDeserializer in = new DataInputDeserializer(out.getCopyOfBuffer());
        assertThat(serializer.deserialize(in)).isEqualTo(big);
        assertThat(serializer.deserialize(in)).isEqualTo(seenSet());
        assertThat(in.available()).isZero();
    }

    private static <T> TypeSerializerSnapshot<T> roundTrip(TypeSerializerSnapshot<T> snapshot) throws Exception {
        DataOutputSerializer out = new DataOutputSerializer(256);
        TypeSerializerSnapshot.writeVersionedSnapshot(out, snapshot);
        return TypeSerializerSnapshot.readVersionedSnapshot(new DataInputDeserializer(out.getCopyOfBuffer()),
                CompactAvroSerializerTest.class.getClassLoader());
    }

    @Test
    void sameSchemaRestoresAsIs() throws Exception {
        CompactAvroSerializer<SeenSet> serializer = new CompactAvroSerializer<>(SeenSet.class);
        TypeSerializerSnapshot<SeenSet> restored = roundTrip(serializer.snapshotConfiguration());
        assertThat(restored.restoreSerializer()).isEqualTo(serializer);
        assertThat(serializer.snapshotConfiguration().resolveSchemaCompatibility(restored).isCompatibleAsIs()).isTrue();
    }

    @Test
    void anOlderSchemaMigratesThroughAvroResolution() throws Exception {
        // SeenSet v1: BloomLayer had no hashes field.
        Schema v1 = SchemaHistory.releasedVersions("SeenSet").get(0);
        assertThat(v1.getField("layers").schema().getElementType().getField("hashes")).isNull();
        CompactAvroSerializer<SeenSet> old = new CompactAvroSerializer<>(SeenSet.class, v1);
        TypeSerializerSnapshot<SeenSet> oldSnapshot = roundTrip(old.snapshotConfiguration());

        TypeSerializerSchemaCompatibility<SeenSet> compatibility =
                new CompactAvroSerializer<>(SeenSet.class).snapshotConfiguration().resolveSchemaCompatibility(oldSnapshot);
        assertThat(compatibility.isCompatibleAfterMigration()).isTrue();

        SeenSet record = seenSet();
        byte[] v1Body = genericBinary(v1, record);
        byte[] stored = new byte[v1Body.length + 1];
        stored[0] = (byte) v1Body.length;
        System.arraycopy(v1Body, 0, stored, 1, v1Body.length);
        SeenSet migrated = read(oldSnapshot.restoreSerializer(), stored);
        assertThat(migrated).isEqualTo(record); // hashes took its default, the empty list form of the test's layer
    }

    @Test
    void anotherRecordTypeIsIncompatible() throws Exception {
        TypeSerializerSnapshot<SeenSet> other = roundTrip(castSnapshot(new CompactAvroSerializer<>(Impression.class)));
        assertThat(new CompactAvroSerializer<>(SeenSet.class).snapshotConfiguration()
                .resolveSchemaCompatibility(other).isIncompatible()).isTrue();
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    private static TypeSerializerSnapshot<SeenSet> castSnapshot(CompactAvroSerializer<?> serializer) {
        return (TypeSerializerSnapshot) serializer.snapshotConfiguration();
    }
}
