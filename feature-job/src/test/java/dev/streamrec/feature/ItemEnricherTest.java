package dev.streamrec.feature;

import static dev.streamrec.feature.Fixtures.T0;
import static dev.streamrec.feature.Fixtures.action;
import static dev.streamrec.feature.Fixtures.item;
import static dev.streamrec.feature.Fixtures.vector;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;

import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.streaming.util.KeyedTwoInputStreamOperatorTestHarness;
import org.apache.flink.streaming.util.ProcessFunctionTestHarnesses;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import dev.streamrec.avro.ActionType;
import dev.streamrec.avro.DeadLetter;
import dev.streamrec.avro.EnrichedAction;
import dev.streamrec.avro.ItemEmbedding;
import dev.streamrec.avro.UserAction;
import dev.streamrec.jobs.io.DeadLetters;
import dev.streamrec.schemas.AvroSingleObjectSerde;

class ItemEnricherTest {
    private static final long HOLD = 60_000;
    private static final long RETENTION = 3_600_000;
    private KeyedTwoInputStreamOperatorTestHarness<String, UserAction, ItemEmbedding, EnrichedAction> harness;

    @BeforeEach
    void setUp() throws Exception {
        harness = ProcessFunctionTestHarnesses.forKeyedCoProcessFunction(
                new ItemEnricher("feature-job", "user-actions", 3, HOLD, RETENTION, 2),
                UserAction::getItemId, ItemEmbedding::getItemId, Types.STRING);
        harness.setProcessingTime(0);
    }

    @AfterEach
    void tearDown() throws Exception {
        harness.close();
    }

    private List<EnrichedAction> out() {
        return harness.extractOutputValues();
    }

    private List<DeadLetter> deadLetters() {
        return harness.getSideOutput(DeadLetters.TAG) == null ? List.of()
                : harness.getSideOutput(DeadLetters.TAG).stream().map(r -> r.getValue()).toList();
    }

    @Test
    void anActionOnAKnownItemIsEnrichedAtOnce() throws Exception {
        harness.processElement2(item("i1", "v1", vector(1, 4), "news", List.of("a", "b"), T0), T0);
        harness.processElement1(action("u1", "i1", ActionType.CLICK, T0 + 1), T0 + 1);
        assertThat(out()).hasSize(1);
        EnrichedAction e = out().get(0);
        assertThat(e.getCategory()).isEqualTo("news");
        assertThat(e.getTags()).containsExactly("a", "b");
        assertThat(e.getVectors()).containsOnlyKeys("v1");
        assertThat(e.getVectors().get("v1")).isEqualTo(vector(1, 4));
    }

    @Test
    void actionsOnAnUnknownItemAreHeldUntilTheItemArrivesInOrder() throws Exception {
        UserAction a1 = action("u1", "i1", ActionType.VIEW, T0);
        UserAction a2 = action("u2", "i1", ActionType.LIKE, T0 + 1);
        harness.processElement1(a1, T0);
        harness.processElement1(a2, T0 + 1);
        assertThat(out()).isEmpty();
        harness.processElement2(item("i1", "v1", vector(1, 4), "news", List.of(), T0), T0);
        assertThat(out()).extracting(e -> e.getAction().getEventId()).containsExactly(a1.getEventId(), a2.getEventId());
        // Nothing left held: the hold timeout passing later dead-letters nothing.
        harness.setProcessingTime(10 * HOLD);
        assertThat(deadLetters()).isEmpty();
    }

    @Test
    void heldActionsTimeOutToDeadLettersAndAreNotAppliedLater() throws Exception {
        UserAction a1 = action("u1", "i1", ActionType.VIEW, T0);
        harness.processElement1(a1, T0);
        harness.setProcessingTime(HOLD);
        assertThat(deadLetters()).hasSize(1);
        DeadLetter d = deadLetters().get(0);
        assertThat(d.getReason()).startsWith("hold-expired");
        assertThat(d.getTopic()).isEqualTo("user-actions");
        byte[] value = new byte[d.getValue().remaining()];
        d.getValue().get(value);
        assertThat(AvroSingleObjectSerde.of(UserAction.class).decode(value)).isEqualTo(a1);

        harness.processElement2(item("i1", "v1", vector(1, 4), "news", List.of(), T0), T0);
        assertThat(out()).isEmpty();
    }

    @Test
    void holdingIsBoundedInCount() throws Exception {
        for (int i = 0; i < 5; i++) {
            harness.processElement1(action("u" + i, "i1", ActionType.VIEW, T0 + i), T0 + i);
        }
        assertThat(deadLetters()).hasSize(2);
        harness.processElement2(item("i1", "v1", vector(1, 4), "news", List.of(), T0), T0);
        assertThat(out()).hasSize(3);
    }

    @Test
    void reUpsertReplacesTheVectorAndVersionsLiveSideBySide() throws Exception {
        harness.processElement2(item("i1", "v1", vector(1, 4), "news", List.of(), T0), T0);
        harness.processElement2(item("i1", "v2", vector(2, 8), "news", List.of(), T0), T0);
        harness.processElement2(item("i1", "v1", vector(3, 4), "sports", List.of("x"), T0 + 10), T0 + 10);
        // An older event for v1 replayed late must not overwrite the newer one.
        harness.processElement2(item("i1", "v1", vector(4, 4), "old", List.of(), T0 + 5), T0 + 5);
        harness.processElement1(action("u1", "i1", ActionType.CLICK, T0 + 20), T0 + 20);
        EnrichedAction e = out().get(0);
        assertThat(e.getVectors().get("v1")).isEqualTo(vector(3, 4));
        assertThat(e.getVectors().get("v2")).isEqualTo(vector(2, 8));
        assertThat(e.getCategory()).isEqualTo("sports");
    }

    @Test
    void aDeletedItemStillEnrichesLateActionsUntilItsRetentionEnds() throws Exception {
        harness.processElement2(item("i1", "v1", vector(1, 4), "news", List.of(), T0), T0);
        harness.processElement2(Fixtures.deleted("i1", "v1", T0 + 1), T0 + 1);
        harness.processElement1(action("u1", "i1", ActionType.CLICK, T0), T0);
        assertThat(out()).hasSize(1);
        harness.setProcessingTime(RETENTION + 1);
        assertThat(harness.numKeyedStateEntries()).isZero();
    }

    @Test
    void theHeapCacheFollowsEveryChangeOfTheStoredProfile() throws Exception {
        harness.processElement2(item("i1", "v1", vector(1, 4), "news", List.of(), T0), T0);
        harness.processElement1(action("u1", "i1", ActionType.CLICK, T0 + 1), T0 + 1); // i1 is now cached
        for (int i = 2; i <= 4; i++) { // more items than the cache holds: i1 is evicted and read again
            harness.processElement2(item("i" + i, "v1", vector(i, 4), "news", List.of(), T0), T0);
            harness.processElement1(action("u1", "i" + i, ActionType.CLICK, T0 + 1), T0 + 1);
        }
        harness.processElement1(action("u1", "i1", ActionType.CLICK, T0 + 2), T0 + 2);
        harness.processElement2(item("i1", "v1", vector(9, 4), "sports", List.of(), T0 + 3), T0 + 3);
        harness.processElement1(action("u1", "i1", ActionType.CLICK, T0 + 4), T0 + 4);
        EnrichedAction updated = out().get(out().size() - 1);
        assertThat(updated.getVectors().get("v1")).isEqualTo(vector(9, 4));
        assertThat(updated.getCategory()).isEqualTo("sports");

        // Deleted, then dropped after the retention: the next action waits for the item again.
        harness.processElement2(Fixtures.deleted("i1", "v1", T0 + 5), T0 + 5);
        harness.setProcessingTime(RETENTION + 1);
        int before = out().size();
        harness.processElement1(action("u2", "i1", ActionType.CLICK, T0 + 6), T0 + 6);
        assertThat(out()).hasSize(before);
        harness.processElement2(item("i1", "v1", vector(5, 4), "news", List.of(), T0 + 7), T0 + 7);
        assertThat(out()).hasSize(before + 1);
        assertThat(out().get(before).getVectors().get("v1")).isEqualTo(vector(5, 4));
    }
}
