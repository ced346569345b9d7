package dev.streamrec.index;

import static dev.streamrec.index.IndexFixtures.T0;
import static dev.streamrec.index.IndexFixtures.item;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;

import org.apache.avro.specific.SpecificRecordBase;
import org.apache.flink.streaming.util.ProcessFunctionTestHarnesses;
import org.junit.jupiter.api.Test;

import dev.streamrec.avro.DeadLetter;
import dev.streamrec.avro.ItemEmbedding;
import dev.streamrec.avro.ItemStatus;
import dev.streamrec.avro.ModelPhase;
import dev.streamrec.avro.ModelVersion;
import dev.streamrec.jobs.ModelVersions;
import dev.streamrec.jobs.io.DeadLetters;
import dev.streamrec.jobs.io.DecodeAndValidate;
import dev.streamrec.jobs.io.EventTimeSkew;
import dev.streamrec.jobs.io.RawRecord;
import dev.streamrec.jobs.io.RecordValidators;
import dev.streamrec.schemas.AvroSingleObjectSerde;

/** Every bad-input case of index-job's item input reaches the dead letters with its reason; good items pass. */
class InputValidationTest {
    private static final long HOUR = 3_600_000L;

    private static <T extends SpecificRecordBase> RawRecord raw(Class<T> type, T record) {
        return new RawRecord("item-embeddings", 1, 7, T0, "k".getBytes(StandardCharsets.UTF_8), AvroSingleObjectSerde.of(type).encode(record));
    }

    private static float[] filled(int n, float value) {
        float[] v = new float[n];
        Arrays.fill(v, value);
        return v;
    }

    @Test
    void undecodableUnknownStatusAndMissingIdsAreRejectedWhenDecoding() throws Exception {
        var h = ProcessFunctionTestHarnesses.forProcessFunction(new DecodeAndValidate<>("index-job", ItemEmbedding.class,
                RecordValidators.itemEmbeddingWithoutVector(new EventTimeSkew(HOUR, Long.MAX_VALUE / 4))));
        h.setProcessingTime(T0);
        ItemEmbedding good = item("i1", "v1", filled(64, 0.1f), T0);
        h.processElement(raw(ItemEmbedding.class, good), 0);
        h.processElement(new RawRecord("item-embeddings", 1, 8, T0, null, new byte[] {1, 2, 3}), 0);
        ItemEmbedding unknownStatus = ItemEmbedding.newBuilder(good).setStatus(ItemStatus.UNKNOWN).build();
        h.processElement(raw(ItemEmbedding.class, unknownStatus), 0);
        h.processElement(raw(ItemEmbedding.class, ItemEmbedding.newBuilder(good).setItemId("").build()), 0);
        h.processElement(raw(ItemEmbedding.class, ItemEmbedding.newBuilder(good).setModelVersion(" ").build()), 0);
        h.processElement(raw(ItemEmbedding.class, ItemEmbedding.newBuilder(good).setEventTime(T0 + 2 * HOUR).build()), 0);

        assertThat(h.extractOutputValues()).containsExactly(good);
        List<DeadLetter> dead = h.getSideOutput(DeadLetters.TAG).stream().map(r -> r.getValue()).toList();
        assertThat(dead).extracting(DeadLetter::getReason).satisfiesExactly(
                r -> assertThat(r).startsWith("undecodable"),
                r -> assertThat(r).startsWith("unknown-enum"),
                r -> assertThat(r).startsWith("missing-id").contains("itemId"),
                r -> assertThat(r).startsWith("missing-id").contains("modelVersion"),
                r -> assertThat(r).startsWith("time-skew"));
        assertThat(dead).allSatisfy(d -> {
            assertThat(d.getJob()).isEqualTo("index-job");
            assertThat(d.getTopic()).isEqualTo("item-embeddings");
        });
    }

    @Test
    void vectorsMustHaveTheirVersionsDimensionFiniteValuesAndADirection() throws Exception {
        var h = ProcessFunctionTestHarnesses.forBroadcastProcessFunction(
                new ItemValidator("index-job", "item-embeddings", 64), ModelVersions.STATE);
        h.processBroadcastElement(new ModelVersion("v2", ModelPhase.LOADING, null, 4, T0), 0);
        ItemEmbedding good64 = item("i1", "v1", filled(64, 0.1f), T0);
        ItemEmbedding good4 = item("i1", "v2", filled(4, 0.1f), T0);
        float[] nan = filled(64, 0.1f);
        nan[3] = Float.NaN;
        float[] inf = filled(4, 0.1f);
        inf[0] = Float.POSITIVE_INFINITY;
        List<ItemEmbedding> inputs = List.of(
                good64, good4,
                item("i2", "v1", filled(63, 0.1f), T0), // default dimension
                item("i2", "v2", filled(64, 0.1f), T0), // v2 declares 4
                item("i3", "v1", nan, T0),
                item("i4", "v2", inf, T0),
                item("i5", "v1", filled(64, 0f), T0),
                IndexFixtures.deleted("i6", "v1", T0)); // a delete has no vector: fine
        for (ItemEmbedding e : inputs) {
            h.processElement(e, 0);
        }
        assertThat(h.extractOutputValues()).containsExactly(good64, good4, inputs.get(7));
        List<DeadLetter> dead = h.getSideOutput(DeadLetters.TAG).stream().map(r -> r.getValue()).toList();
        assertThat(dead).extracting(DeadLetter::getReason).satisfiesExactly(
                r -> assertThat(r).contains("bad-vector").contains("dimension 63, expected 64"),
                r -> assertThat(r).contains("bad-vector").contains("dimension 64, expected 4"),
                r -> assertThat(r).contains("bad-vector").contains("NaN"),
                r -> assertThat(r).contains("bad-vector").contains("Infinity"),
                r -> assertThat(r).contains("bad-vector").contains("zero length"));
        // The dead letter carries the rejected record itself, re-encoded.
        ItemEmbedding back = AvroSingleObjectSerde.of(ItemEmbedding.class).decode(dead.get(0).getValue().array());
        assertThat(back).isEqualTo(inputs.get(2));
    }

    @Test
    void itemsOfARetiredVersionAreSkippedNotDeadLettered() throws Exception {
        var h = ProcessFunctionTestHarnesses.forBroadcastProcessFunction(
                new ItemValidator("index-job", "item-embeddings", 4), ModelVersions.STATE);
        h.processBroadcastElement(new ModelVersion("v1", ModelPhase.RETIRED, null, null, T0), 0);
        h.processElement(item("i1", "v1", filled(4, 0.1f), T0), 0);
        h.processElement(item("i1", "v2", filled(4, 0.1f), T0), 0);
        assertThat(h.extractOutputValues()).extracting(ItemEmbedding::getModelVersion).containsExactly("v2");
        assertThat(h.getSideOutput(DeadLetters.TAG)).isNullOrEmpty();
    }
}
