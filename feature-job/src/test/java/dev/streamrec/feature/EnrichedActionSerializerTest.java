package dev.streamrec.feature;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.List;
import java.util.Map;

import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericDatumWriter;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.DecoderFactory;
import org.apache.avro.io.EncoderFactory;
import org.apache.avro.specific.SpecificDatumReader;
import org.apache.avro.util.RandomData;
import org.apache.flink.api.common.serialization.SerializerConfigImpl;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.api.common.typeutils.TypeSerializerSnapshot;
import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.core.memory.DataOutputSerializer;
import org.junit.jupiter.api.Test;

import dev.streamrec.avro.ActionType;
import dev.streamrec.avro.EnrichedAction;

class EnrichedActionSerializerTest {
    private final TypeSerializer<EnrichedAction> serializer = EnrichedActionSerializer.TYPE.createSerializer(new SerializerConfigImpl());

    private EnrichedAction roundTrip(EnrichedAction e) throws IOException {
        DataOutputSerializer out = new DataOutputSerializer(256);
        serializer.serialize(e, out);
        serializer.serialize(e, out); // two in a row: each read consumes exactly its own bytes
        DataInputDeserializer in = new DataInputDeserializer(out.getCopyOfBuffer());
        EnrichedAction first = serializer.deserialize(in);
        assertThat(serializer.deserialize(in)).isEqualTo(first);
        assertThat(in.available()).isZero();
        return first;
    }

    /** Random records over the whole schema: a field the serializer did not write would come back different. */
    @Test
    void randomRecordsRoundTrip() throws IOException {
        Schema schema = EnrichedAction.getClassSchema();
        for (Object random : new RandomData(schema, 200, 3L)) {
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            BinaryEncoder encoder = EncoderFactory.get().binaryEncoder(bytes, null);
            new GenericDatumWriter<>(schema, GenericData.get()).write(random, encoder);
            encoder.flush();
            EnrichedAction e = new SpecificDatumReader<EnrichedAction>(schema)
                    .read(null, DecoderFactory.get().binaryDecoder(bytes.toByteArray(), null));
            assertThat(roundTrip(e)).isEqualTo(e);
        }
    }

    @Test
    void anActionWithoutCategoryTagsOrVectors() throws IOException {
        EnrichedAction e = Fixtures.enriched(Fixtures.action("u1", "i1", ActionType.RATE, 4.5, Fixtures.T0), null, List.of(), Map.of());
        assertThat(roundTrip(e)).isEqualTo(e);
        assertThat(serializer.copy(e)).isEqualTo(e).isNotSameAs(e);
    }

    @Test
    void itsSnapshotRestoresASerializerThatReadsWhatTheWriterWrote() throws IOException {
        EnrichedActionSerializer writer = new EnrichedActionSerializer();
        DataOutputSerializer snapshotBytes = new DataOutputSerializer(256);
        TypeSerializerSnapshot.writeVersionedSnapshot(snapshotBytes, writer.snapshotConfiguration());
        DataOutputSerializer records = new DataOutputSerializer(256);
        EnrichedAction e = Fixtures.enriched(Fixtures.action("u1", "i1", ActionType.LIKE, Fixtures.T0), "news", List.of("a"),
                Map.of("v1", Fixtures.vector(3, 8)));
        writer.serialize(e, records);

        // What a restore from an unaligned checkpoint does: read the snapshot, check it against the current build's.
        TypeSerializerSnapshot<EnrichedAction> restored = TypeSerializerSnapshot.readVersionedSnapshot(
                new DataInputDeserializer(snapshotBytes.getCopyOfBuffer()), getClass().getClassLoader());
        assertThat(restored).isInstanceOf(EnrichedActionSerializer.FormatSnapshot.class);
        assertThat(new EnrichedActionSerializer().snapshotConfiguration().resolveSchemaCompatibility(restored).isCompatibleAsIs())
                .isTrue();
        assertThat(restored.restoreSerializer().deserialize(new DataInputDeserializer(records.getCopyOfBuffer()))).isEqualTo(e);
    }

    @Test
    void theSnapshotOfRelease010IsStillReadable() {
        // 0.1.0 wrote a versionless snapshot; its format is format 1 with UserAction's first schema, still current.
        var legacy = new EnrichedActionSerializer.Snapshot();
        assertThat(new EnrichedActionSerializer().snapshotConfiguration().resolveSchemaCompatibility(legacy).isCompatibleAsIs())
                .isTrue();
    }
}
