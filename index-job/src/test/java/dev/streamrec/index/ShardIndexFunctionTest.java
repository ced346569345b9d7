package dev.streamrec.index;

import static dev.streamrec.index.IndexFixtures.T0;
import static dev.streamrec.index.IndexFixtures.command;
import static dev.streamrec.index.IndexFixtures.deleted;
import static dev.streamrec.index.IndexFixtures.item;
import static dev.streamrec.index.IndexFixtures.phase;
import static dev.streamrec.index.IndexFixtures.query;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.stream.Collectors;

import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.runtime.state.KeyGroupRangeAssignment;
import org.apache.flink.state.rocksdb.EmbeddedRocksDBStateBackend;
import org.apache.flink.streaming.api.operators.co.CoBroadcastWithKeyedOperator;
import org.apache.flink.streaming.util.AbstractStreamOperatorTestHarness;
import org.apache.flink.streaming.util.KeyedBroadcastOperatorTestHarness;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import dev.streamrec.avro.IndexCommand;
import dev.streamrec.avro.ModelPhase;
import dev.streamrec.avro.ModelVersion;
import dev.streamrec.avro.RecallRequest;
import dev.streamrec.avro.ScoredItem;
import dev.streamrec.avro.ShardAnswer;
import dev.streamrec.index.ann.BruteForceIndex;
import dev.streamrec.index.ann.ClusteredVectors;
import dev.streamrec.index.ann.Neighbor;
import dev.streamrec.index.ann.Sharding;
import dev.streamrec.index.ann.VectorMath;
import dev.streamrec.jobs.ModelVersions;

/** The shard operator through Flink's harness, on RocksDB: item changes, queries, versions, restore and rescale. */
class ShardIndexFunctionTest {
    private static final int MAX_PARALLELISM = 128;
    private static final int SHARDS = 4;
    private final RecallSettings settings = RecallSettings.defaults().withShards(SHARDS).withK(10, 5).withSnapshotIntervalMs(60_000);
    private final List<KeyedBroadcastOperatorTestHarness<Integer, IndexCommand, ModelVersion, ShardAnswer>> open = new ArrayList<>();

    private KeyedBroadcastOperatorTestHarness<Integer, IndexCommand, ModelVersion, ShardAnswer> harness(
            RecallSettings s, int parallelism, int subtask, OperatorSubtaskState restoreFrom) throws Exception {
        var h = new KeyedBroadcastOperatorTestHarness<>(
                new CoBroadcastWithKeyedOperator<>(new ShardIndexFunction(s), List.of(ModelVersions.STATE)),
                c -> IndexJob.shardKey(c, s.shards()), Types.INT, MAX_PARALLELISM, parallelism, subtask);
        h.setStateBackend(new EmbeddedRocksDBStateBackend());
        open.add(h);
        if (restoreFrom != null) {
            h.initializeState(AbstractStreamOperatorTestHarness.repartitionOperatorState(
                    restoreFrom, MAX_PARALLELISM, 1, parallelism, subtask));
        }
        h.open();
        h.setProcessingTime(T0);
        return h;
    }

    @AfterEach
    void closeAll() throws Exception {
        for (var h : open) {
            h.close();
        }
    }

    /** One query per shard, as the assembler fans a request out; returns the merged top-K of u2i. */
    private static List<String> u2i(KeyedBroadcastOperatorTestHarness<Integer, IndexCommand, ModelVersion, ShardAnswer> h,
                                    String version, float[] userVector) throws Exception {
        return ask(List.of(h), 1, version, userVector, Map.of(), List.of()).getU2i().stream().map(ScoredItem::getItemId).toList();
    }

    /** Sends a request to every shard (each to the subtask that owns it) and merges the answers. */
    private static ShardAnswer ask(List<KeyedBroadcastOperatorTestHarness<Integer, IndexCommand, ModelVersion, ShardAnswer>> subtasks,
                                   int parallelism, String version, float[] userVector, Map<String, float[]> seeds,
                                   List<String> excluded) throws Exception {
        ShardAnswer merged = null;
        for (int shard = 0; shard < SHARDS; shard++) {
            var h = subtasks.get(KeyGroupRangeAssignment.assignKeyToParallelOperator(shard, MAX_PARALLELISM, parallelism));
            int before = h.extractOutputValues().size();
            RecallRequest q = query("u", 7, version, userVector, seeds, excluded, shard);
            h.processElement(new IndexCommand(null, q, null), 0);
            List<ShardAnswer> out = h.extractOutputValues();
            assertThat(out).hasSize(before + 1);
            merged = RecallMerge.accumulate(merged, out.get(out.size() - 1), 10, 5);
        }
        return merged;
    }

    private static float[] v(float... f) {
        return f;
    }

    @Test
    void upsertReupsertAndDelete() throws Exception {
        var h = harness(settings, 1, 0, null);
        h.processElement(command(item("a", "v1", v(1, 0, 0), T0)), 0);
        h.processElement(command(item("b", "v1", v(0.5f, 1, 0), T0)), 0);
        assertThat(u2i(h, "v1", v(1, 0, 0))).startsWith("a");

        h.processElement(command(item("a", "v1", v(0, 0, 1), T0 + 1)), 0); // re-upsert moves it
        assertThat(u2i(h, "v1", v(0, 0, 1))).startsWith("a");
        assertThat(u2i(h, "v1", v(1, 0, 0)).indexOf("a")).isGreaterThan(u2i(h, "v1", v(1, 0, 0)).indexOf("b"));

        h.processElement(command(item("a", "v1", v(1, 0, 0), T0 - 5)), 0); // older than what is known: ignored
        assertThat(u2i(h, "v1", v(0, 0, 1))).startsWith("a");

        h.processElement(command(deleted("a", "v1", T0 + 2)), 0);
        assertThat(u2i(h, "v1", v(0, 0, 1))).containsExactly("b");
        h.processElement(command(item("a", "v1", v(0, 0, 1), T0 + 1)), 0); // replayed upsert older than the delete
        assertThat(u2i(h, "v1", v(0, 0, 1))).containsExactly("b");
        h.processElement(command(item("a", "v1", v(0, 0, 1), T0 + 3)), 0); // a newer upsert brings it back
        assertThat(u2i(h, "v1", v(0, 0, 1))).startsWith("a");
    }

    @Test
    void versionsLiveSideBySideAndAreNeverCompared() throws Exception {
        var h = harness(settings, 1, 0, null);
        h.processElement(command(item("a", "v1", v(1, 0, 0), T0)), 0);
        h.processElement(command(item("b", "v1", v(0, 1, 0), T0)), 0);
        h.processElement(command(item("a", "v2", v(0, 1), T0)), 0); // v2 has another dimension
        h.processElement(command(item("c", "v2", v(1, 0), T0)), 0);
        assertThat(u2i(h, "v1", v(1, 0, 0))).containsExactly("a", "b");
        assertThat(u2i(h, "v2", v(1, 0))).containsExactly("c", "a");
        assertThat(u2i(h, "v3", v(1, 0))).isEmpty();
        assertThat(u2i(h, "v2", v(1, 0, 0))).as("a v1-sized vector against v2's index").isEmpty();
    }

    @Test
    void retiringAVersionDropsItsIndexAndItsState() throws Exception {
        var h = harness(settings, 1, 0, null);
        h.processElement(command(item("a", "v1", v(1, 0, 0), T0)), 0);
        h.processElement(command(item("a", "v2", v(0, 1), T0)), 0);
        h.processElement(command(item("b", "v1", v(0, 1, 0), T0)), 0);
        h.setProcessingTime(T0 + 60_000); // a snapshot of both versions is written
        h.processBroadcastElement(phase("v2", ModelPhase.SERVING, T0 + 1), 0);
        h.processBroadcastElement(phase("v1", ModelPhase.RETIRED, T0 + 2), 0);
        assertThat(u2i(h, "v1", v(1, 0, 0))).isEmpty();
        assertThat(u2i(h, "v2", v(0, 1))).containsExactly("a");
        h.processElement(command(item("c", "v1", v(1, 0, 0), T0 + 3)), 0); // a late v1 item is not indexed
        assertThat(u2i(h, "v1", v(1, 0, 0))).isEmpty();

        // Nothing of v1 comes back from state after a restore: neither items nor the snapshot.
        OperatorSubtaskState snapshot = h.snapshot(1, T0);
        var restored = harness(settings, 1, 0, snapshot);
        assertThat(u2i(restored, "v1", v(1, 0, 0))).isEmpty();
        assertThat(u2i(restored, "v2", v(0, 1))).containsExactly("a");
    }

    @Test
    void i2iExcludesTheUsersTriggerItems() throws Exception {
        var h = harness(settings, 1, 0, null);
        h.processElement(command(item("seed", "v1", v(1, 0, 0), T0)), 0);
        h.processElement(command(item("seen", "v1", v(1, 0.1f, 0), T0)), 0);
        h.processElement(command(item("near", "v1", v(1, 0.2f, 0), T0)), 0);
        h.processElement(command(item("far", "v1", v(0, 0, 1), T0)), 0);
        ShardAnswer merged = ask(List.of(h), 1, "v1", null, Map.of("seed", v(1, 0, 0)), List.of("seed", "seen"));
        assertThat(merged.getU2i()).isEmpty();
        assertThat(merged.getI2i().get("seed")).extracting(ScoredItem::getItemId).containsExactly("near", "far");
    }

    @Test
    void seenItemsAreCandidatesOfNeitherChannelAndTheShardStillAnswersK() throws Exception {
        int k = 200;
        int perSeed = 40;
        var h = harness(settings.withShards(1).withK(k, perSeed), 1, 0, null);
        ClusteredVectors data = new ClusteredVectors(13, 16, 10, 0.2);
        BruteForceIndex exact = new BruteForceIndex(16);
        for (int i = 0; i < 500; i++) {
            h.processElement(command(item(ClusteredVectors.itemId(i), "v1", data.vector(i), T0)), 0);
            exact.upsert(ClusteredVectors.itemId(i), data.vector(i), 1);
        }
        float[] user = data.query(4);
        List<String> top = ids(exact.search(user, k, null));
        Set<String> seen = new java.util.LinkedHashSet<>();
        for (int i = 0; i < k; i++) {
            if (i % 10 != 0) {
                seen.add(top.get(i)); // 180 of the user's exact top 200
            }
        }
        String trigger = ClusteredVectors.itemId(7);
        RecallRequest q = query("u", 7, "v1", user, Map.of(trigger, data.vector(7)), List.of(trigger), 0);
        q.setSeenItems(new ArrayList<>(seen));
        h.processElement(new IndexCommand(null, q, null), 0);
        ShardAnswer answer = h.extractOutputValues().get(0);

        List<String> u2i = answer.getU2i().stream().map(ScoredItem::getItemId).toList();
        assertThat(u2i).hasSize(k).doesNotContainAnyElementsOf(seen)
                .containsExactlyElementsOf(ids(exact.search(user, k, seen::contains)));
        List<String> i2i = answer.getI2i().get(trigger).stream().map(ScoredItem::getItemId).toList();
        assertThat(i2i).hasSize(perSeed).doesNotContainAnyElementsOf(seen).doesNotContain(trigger)
                .containsExactlyElementsOf(ids(exact.search(data.vector(7), perSeed, id -> seen.contains(id) || id.equals(trigger))));
    }

    private static List<String> ids(List<Neighbor> neighbors) {
        return neighbors.stream().map(Neighbor::itemId).toList();
    }

    @Test
    void restoreAtAnotherParallelismAnswersIdentically() throws Exception {
        for (long snapshotInterval : new long[] {60_000, 0}) { // loaded from a snapshot, and rebuilt from the items
            RecallSettings s = settings.withSnapshotIntervalMs(snapshotInterval);
            var before = harness(s, 1, 0, null);
            ClusteredVectors data = new ClusteredVectors(11, 16, 20, 0.2);
            for (int i = 0; i < 3000; i++) {
                before.processElement(command(item(ClusteredVectors.itemId(i), "v1", data.vector(i), T0)), 0);
            }
            for (int i = 0; i < 3000; i += 10) {
                before.processElement(command(deleted(ClusteredVectors.itemId(i), "v1", T0 + 1)), 0);
            }
            before.setProcessingTime(T0 + 60_000); // snapshot (when enabled) ...
            for (int i = 3000; i < 3200; i++) { // ... then changes the snapshot does not have
                before.processElement(command(item(ClusteredVectors.itemId(i), "v1", data.vector(i), T0 + 2)), 0);
            }
            before.processElement(command(deleted(ClusteredVectors.itemId(3001), "v1", T0 + 3)), 0);
            before.processElement(command(item(ClusteredVectors.itemId(5), "v1", data.vector(2000), T0 + 3)), 0);

            List<ShardAnswer> expected = new ArrayList<>();
            for (int q = 0; q < 20; q++) {
                expected.add(ask(List.of(before), 1, "v1", data.query(q), Map.of(), List.of()));
            }
            OperatorSubtaskState snapshot = before.snapshot(1, T0);

            int parallelism = 3;
            List<KeyedBroadcastOperatorTestHarness<Integer, IndexCommand, ModelVersion, ShardAnswer>> after = new ArrayList<>();
            for (int subtask = 0; subtask < parallelism; subtask++) {
                after.add(harness(s, parallelism, subtask, snapshot));
            }
            for (int q = 0; q < 20; q++) {
                ShardAnswer answer = ask(after, parallelism, "v1", data.query(q), Map.of(), List.of());
                assertThat(answer.getU2i()).as("query %d, snapshot interval %d", q, snapshotInterval)
                        .isEqualTo(expected.get(q).getU2i());
                assertThat(answer.getU2i()).extracting(ScoredItem::getItemId)
                        .doesNotContain(ClusteredVectors.itemId(0), ClusteredVectors.itemId(3001));
            }
        }
    }

    @Test
    void deletesPastTheThresholdCompactInTheBackgroundWhileQueriesStayExact() throws Exception {
        RecallSettings s = settings.withIndexParams(settings.indexParams().withCompactionMinDeleted(20));
        var h = harness(s, 1, 0, null);
        Random random = new Random(7);
        Map<String, float[]> live = new HashMap<>();
        for (int i = 0; i < 600; i++) {
            float[] vector = randomVector(random, 8);
            live.put("i" + i, vector);
            h.processElement(command(item("i" + i, "v1", vector, T0)), 0);
        }
        Set<String> deletedIds = new java.util.HashSet<>();
        for (int i = 0; i < 600; i += 5) { // 60% of every shard: past the 30% threshold and the minimum of 20
            for (int j = i; j < i + 3; j++) {
                live.remove("i" + j);
                deletedIds.add("i" + j);
                h.processElement(command(deleted("i" + j, "v1", T0 + 1)), 0);
            }
        }
        ShardIndexFunction function = (ShardIndexFunction) ((CoBroadcastWithKeyedOperator<?, ?, ?, ?>) h.getOperator()).getUserFunction();
        long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(120);
        int queries = 0;
        // Every call on a shard swaps in its rebuilt graph once ready; until then the old graph answers.
        while (function.completedCompactions() < SHARDS || queries < 20) {
            assertThat(System.nanoTime()).as("compactions within the deadline").isLessThan(deadline);
            float[] user = randomVector(random, 8);
            List<String> answer = u2i(h, "v1", user);
            assertThat(answer).doesNotContainAnyElementsOf(deletedIds);
            assertThat(answer).containsExactlyElementsOf(exactTop(live, user, 10));
            queries++;
        }
        h.processElement(command(item("i0", "v1", live.computeIfAbsent("i0", k -> randomVector(random, 8)), T0 + 2)), 0);
        deletedIds.remove("i0");
        float[] user = randomVector(random, 8);
        assertThat(u2i(h, "v1", user)).containsExactlyElementsOf(exactTop(live, user, 10));
    }

    private static float[] randomVector(Random random, int dimension) {
        float[] v = new float[dimension];
        for (int i = 0; i < dimension; i++) {
            v[i] = (float) random.nextGaussian();
        }
        return v;
    }

    /** Brute-force top-k by cosine: the reference. */
    private static List<String> exactTop(Map<String, float[]> items, float[] query, int k) {
        float[] q = VectorMath.normalized(query);
        return items.entrySet().stream()
                .sorted(java.util.Comparator.comparingDouble(e -> -dot(q, VectorMath.normalized(e.getValue()))))
                .limit(k).map(Map.Entry::getKey).collect(Collectors.toList());
    }

    private static double dot(float[] a, float[] b) {
        double sum = 0;
        for (int i = 0; i < a.length; i++) {
            sum += a[i] * b[i];
        }
        return sum;
    }

    @Test
    void everyItemLandsInItsOwnShard() {
        Map<Integer, Integer> counts = new HashMap<>();
        for (int i = 0; i < 10_000; i++) {
            counts.merge(Sharding.shardOf(ClusteredVectors.itemId(i), SHARDS), 1, Integer::sum);
        }
        assertThat(counts).hasSize(SHARDS);
        assertThat(counts.values()).allSatisfy(c -> assertThat(c).isBetween(2_000, 3_000));
    }
}
