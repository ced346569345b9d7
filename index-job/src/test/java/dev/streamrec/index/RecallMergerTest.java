package dev.streamrec.index;

import static dev.streamrec.index.IndexFixtures.T0;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.streaming.util.KeyedBroadcastOperatorTestHarness;
import org.apache.flink.streaming.util.ProcessFunctionTestHarnesses;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import dev.streamrec.avro.Candidate;
import dev.streamrec.avro.IndexControl;
import dev.streamrec.avro.RecallResult;
import dev.streamrec.avro.ScoredItem;
import dev.streamrec.avro.ShardAnswer;

class RecallMergerTest {
    private static final long TTL = 10_000;
    private final RecallSettings settings = new RecallSettings(2, 4, RecallSettings.defaults().indexParams(), 0, 1, 1000,
            "v1", 6, 2, 3, 1000, TTL, 1000, 500, 1000);
    private KeyedBroadcastOperatorTestHarness<String, ShardAnswer, IndexControl, RecallResult> h;

    @BeforeEach
    void setUp() throws Exception {
        h = ProcessFunctionTestHarnesses.forKeyedBroadcastProcessFunction(new RecallMerger(settings),
                ShardAnswer::getUserId, Types.STRING, RecallMerger.RECENT_DELETES, RecallMerger.HASHES_COMPLETE);
        h.open();
        h.setProcessingTime(T0);
    }

    @AfterEach
    void tearDown() throws Exception {
        h.close();
    }

    private static List<ScoredItem> scored(Object... idAndScore) {
        List<ScoredItem> l = new ArrayList<>();
        for (int i = 0; i < idAndScore.length; i += 2) {
            l.add(new ScoredItem((String) idAndScore[i], ((Number) idAndScore[i + 1]).doubleValue()));
        }
        return l;
    }

    private static ShardAnswer answer(long requestId, List<ScoredItem> u2i, Map<String, List<ScoredItem>> i2i) {
        return answer("u", requestId, T0, u2i, i2i);
    }

    private static ShardAnswer answer(String user, long requestId, long requestedAt, List<ScoredItem> u2i,
                                      Map<String, List<ScoredItem>> i2i) {
        return ShardAnswer.newBuilder().setUserId(user).setRequestId(requestId).setModelVersion("v1").setSourceEventTime(T0 - 5)
                .setRequestedAt(requestedAt).setTriggerItems(List.of("s1", "s2")).setU2i(u2i).setI2i(i2i).build();
    }

    @Test
    void mergesEveryShardThenInterleavesTheChannelsWithoutDuplicates() throws Exception {
        h.processElement(answer(1, scored("a", 0.9, "b", 0.5, "x", 0.45),
                Map.of("s1", scored("c", 0.8, "a", 0.7), "s2", scored("d", 0.6))), 0);
        assertThat(h.extractOutputValues()).isEmpty();
        h.processElement(answer(1, scored("e", 0.7, "f", 0.1), Map.of("s1", scored("g", 0.75), "s2", scored("b", 0.99))), 0);
        List<RecallResult> out = h.extractOutputValues();
        assertThat(out).hasSize(1);
        RecallResult r = out.get(0);
        // u2i top-6: a e b x f; i2i per seed top-3: s1 = c g a, s2 = b d; interleaved by rank: c b g d a.
        // Turns: a(u2i) c(i2i) | e(u2i) b(i2i) | b(u2i, already taken: skipped) g(i2i) | x(u2i) -> 6 candidates.
        assertThat(r.getCandidates()).extracting(c -> c.getItemId() + "/" + c.getChannel())
                .containsExactly("a/u2i", "c/i2i", "e/u2i", "b/i2i", "g/i2i", "x/u2i");
        assertThat(r.getCandidates().get(3).getScore()).isEqualTo(0.99);
        assertThat(r.getSourceEventTime()).isEqualTo(T0 - 5);
        assertThat(r.getModelVersion()).isEqualTo("v1");
        assertThat(r.getComputedAt()).isEqualTo(T0);
    }

    @Test
    void answersOfASupersededRequestNeverReplaceANewerResult() throws Exception {
        h.processElement(answer(1, scored("old", 0.9), Map.of()), 0);
        h.processElement(answer(2, scored("new", 0.9), Map.of()), 0); // request 1 is abandoned
        h.processElement(answer(2, scored("new2", 0.8), Map.of()), 0);
        h.processElement(answer(1, scored("old", 0.9), Map.of()), 0);
        assertThat(h.extractOutputValues()).hasSize(1);
        assertThat(h.extractOutputValues().get(0).getCandidates()).extracting(Candidate::getItemId).containsExactly("new", "new2");
    }

    @Test
    void aUserWhoseRecallIsNotRecomputedExpires() throws Exception {
        h.processElement(answer(1, scored("a", 0.9), Map.of()), 0);
        h.processElement(answer(1, scored("b", 0.9), Map.of()), 0);
        h.setProcessingTime(T0 + TTL / 2);
        h.processElement(answer(2, scored("a", 0.9), Map.of()), 0);
        h.processElement(answer(2, scored("b", 0.9), Map.of()), 0);
        h.setProcessingTime(T0 + TTL);
        assertThat(served("u")).isNotNull();
        h.setProcessingTime(T0 + TTL / 2 + TTL);
        assertThat(served("u")).isNull();
    }

    private static IndexControl deletes(long batchedAt, String... items) {
        return IndexControl.newBuilder().setDeletedItems(List.of(items)).setBatchedAt(batchedAt).build();
    }

    private RecallResult served(String user) throws Exception {
        h.getOperator().setCurrentKey(user);
        return h.getOperator().getKeyedStateBackend().getPartitionedState(
                org.apache.flink.runtime.state.VoidNamespace.INSTANCE,
                org.apache.flink.runtime.state.VoidNamespaceSerializer.INSTANCE,
                dev.streamrec.schemas.QueryableStates.recall(dev.streamrec.schemas.QueryableStates.RECALL)).value();
    }

    @Test
    void aDeleteBatchLeavesEveryStoredRecallAndReEmitsTheChangedOnes() throws Exception {
        for (String user : List.of("u1", "u2", "u3")) {
            h.processElement(answer(user, 1, T0, scored("a", 0.9, "b", 0.8), Map.of()), 0);
            h.processElement(answer(user, 1, T0, scored(user.equals("u3") ? "c" : "d", 0.7), Map.of()), 0);
        }
        assertThat(h.extractOutputValues()).hasSize(3);
        h.processBroadcastElement(deletes(T0 + 10, "b", "d"), 0);
        List<RecallResult> out = h.extractOutputValues();
        assertThat(out).hasSize(6);
        assertThat(out.subList(3, 6)).extracting(r -> r.getUserId() + ":" + r.getCandidates().stream()
                .map(Candidate::getItemId).toList()).containsExactlyInAnyOrder("u1:[a]", "u2:[a]", "u3:[a, c]");
        assertThat(served("u1").getCandidates()).extracting(Candidate::getItemId).containsExactly("a");
        // A batch that touches nobody's recall emits nothing; later passes read only the item hashes.
        h.processBroadcastElement(deletes(T0 + 20, "zzz"), 0);
        assertThat(h.extractOutputValues()).hasSize(6);
        h.processBroadcastElement(deletes(T0 + 30, "a"), 0);
        assertThat(h.extractOutputValues()).hasSize(9);
        assertThat(served("u3").getCandidates()).extracting(Candidate::getItemId).containsExactly("c");
    }

    @Test
    void theItemHashesSayWhoMayHoldAnItem() {
        RecallResult r = RecallResult.newBuilder().setUserId("u").setModelVersion("v1").setComputedAt(T0).setSourceEventTime(T0)
                .setCandidates(List.of(new Candidate("x", 1.0, "u2i"), new Candidate("y", 0.5, "i2i"))).build();
        int[] hashes = RecallMerger.itemHashes(r);
        assertThat(RecallMerger.mayHold(hashes, new int[] {dev.streamrec.index.ann.Sharding.hash("y")})).isTrue();
        assertThat(RecallMerger.mayHold(hashes, new int[] {dev.streamrec.index.ann.Sharding.hash("z")})).isFalse();
        assertThat(RecallMerger.mayHold(null, new int[] {1})).isFalse();
    }

    @Test
    void aResultOfARequestIssuedBeforeADeleteCannotBringTheItemBack() throws Exception {
        h.processBroadcastElement(deletes(T0 + 1000, "b"), 0);
        // Requested before the batch: a shard may have answered without knowing the delete.
        h.processElement(answer("u1", 1, T0, scored("a", 0.9, "b", 0.8), Map.of()), 0);
        h.processElement(answer("u1", 1, T0, scored("c", 0.7), Map.of()), 0);
        // Requested well after it: the shards knew; an item id that came back was upserted again.
        h.processElement(answer("u2", 1, T0 + 1000 + RecallMerger.DELETE_RACE_MS, scored("b", 0.9), Map.of()), 0);
        h.processElement(answer("u2", 1, T0 + 1000 + RecallMerger.DELETE_RACE_MS, scored("c", 0.7), Map.of()), 0);
        assertThat(h.extractOutputValues()).extracting(r -> r.getUserId() + ":" + r.getCandidates().stream()
                .map(Candidate::getItemId).toList()).containsExactly("u1:[a, c]", "u2:[b, c]");
    }
}
