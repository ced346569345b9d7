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
import dev.streamrec.jobs.io.DeadLetters;
import dev.streamrec.jobs.io.DecodeAndValidate;
import dev.streamrec.jobs.io.EventTimeSkew;
import dev.streamrec.jobs.io.RawRecord;
import dev.streamrec.jobs.io.RecordValidators;
import dev.streamrec.jobs.io.Tombstones;
import dev.streamrec.schemas.AvroSingleObjectSerde;

/**
 * Every bad-input case of index-job's item input reaches the dead letters with its reason; good items pass. The vector
 * checks per model version are the shared ItemVectorValidator's (its own test in jobs/runtime).
 */
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
        var h = ProcessFunctionTestHarnesses.forProcessFunction(DecodeAndValidate.of("index-job", ItemEmbedding.class,
                RecordValidators.itemEmbeddingWithoutVector(new EventTimeSkew(HOUR, Long.MAX_VALUE / 4)), Tombstones.itemDeletes()));
        h.setProcessingTime(T0);
        ItemEmbedding good = item("i1", "v1", filled(64, 0.1f), T0);
        h.processElement(raw(ItemEmbedding.class, good), 0);
        h.processElement(new RawRecord("item-embeddings", 1, 8, T0, null, new byte[] {1, 2, 3}), 0);
        ItemEmbedding unknownStatus = ItemEmbedding.newBuilder(good).setStatus(ItemStatus.UNKNOWN).build();
        h.processElement(raw(ItemEmbedding.class, unknownStatus), 0);
        h.processElement(raw(ItemEmbedding.class, ItemEmbedding.newBuilder(good).setItemId("").build()), 0);
        h.processElement(raw(ItemEmbedding.class, ItemEmbedding.newBuilder(good).setModelVersion(" ").build()), 0);
        h.processElement(raw(ItemEmbedding.class, ItemEmbedding.newBuilder(good).setEventTime(T0 + 2 * HOUR).build()), 0);
        // Kafka's delete convention: a tombstone deletes its key's item; one without a key has no item.
        h.processElement(new RawRecord("item-embeddings", 1, 9, T0, "i9".getBytes(StandardCharsets.UTF_8), null), 0);
        h.processElement(new RawRecord("item-embeddings", 1, 10, T0, null, null), 0);

        assertThat(h.extractOutputValues()).hasSize(2).first().isEqualTo(good);
        ItemEmbedding tombstone = h.extractOutputValues().get(1);
        assertThat(tombstone.getItemId()).isEqualTo("i9");
        assertThat(tombstone.getStatus()).isEqualTo(ItemStatus.DELETED);
        List<DeadLetter> dead = h.getSideOutput(DeadLetters.TAG).stream().map(r -> r.getValue()).toList();
        assertThat(dead).extracting(DeadLetter::getReason).satisfiesExactly(
                r -> assertThat(r).startsWith("undecodable"),
                r -> assertThat(r).startsWith("unknown-enum"),
                r -> assertThat(r).startsWith("missing-id").contains("itemId"),
                r -> assertThat(r).startsWith("missing-id").contains("modelVersion"),
                r -> assertThat(r).startsWith("time-skew"),
                r -> assertThat(r).startsWith("missing-id").contains("itemId"));
        assertThat(dead).allSatisfy(d -> {
            assertThat(d.getJob()).isEqualTo("index-job");
            assertThat(d.getTopic()).isEqualTo("item-embeddings");
        });
    }
}
