package dev.streamrec.index;

import static dev.streamrec.index.IndexFixtures.T0;
import static dev.streamrec.index.IndexFixtures.command;
import static dev.streamrec.index.IndexFixtures.deleted;
import static dev.streamrec.index.IndexFixtures.item;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.runtime.state.KeyGroupRangeAssignment;
import org.apache.flink.state.rocksdb.EmbeddedRocksDBStateBackend;
import org.apache.flink.streaming.api.operators.co.CoBroadcastWithKeyedOperator;
import org.apache.flink.streaming.util.KeyedBroadcastOperatorTestHarness;
import org.junit.jupiter.api.Test;

import dev.streamrec.avro.IndexCommand;
import dev.streamrec.avro.ModelVersion;
import dev.streamrec.avro.RecallRequest;
import dev.streamrec.avro.RecallResult;
import dev.streamrec.avro.ShardAnswer;
import dev.streamrec.index.ann.BruteForceIndex;
import dev.streamrec.index.ann.ClusteredVectors;
import dev.streamrec.index.ann.Neighbor;
import dev.streamrec.jobs.ModelVersions;

/**
 * Recall quality of the job's own code path with default parameters (8 shards, K = 200, HNSW defaults): 100,000
 * clustered 64-d items through the shard operator on RocksDB, 5% of them deleted afterwards; each query fans out to
 * every shard and is merged as the job merges it. recall@10 of the u2i channel against an exact search over the live
 * items is at least 0.95, and no deleted item is ever returned.
 */
class IndexQualityTest {
    private static final int ITEMS = 100_000;
    private static final int QUERIES = 200;
    private static final int MAX_PARALLELISM = 128;

    private static final int PARALLELISM = 2;

    @Test
    void recallAt10AgainstExactSearchWithDefaultParameters() throws Exception {
        RecallSettings settings = RecallSettings.defaults();
        assertThat(settings.shards()).isEqualTo(8);
        assertThat(settings.k()).isEqualTo(200);
        // Two subtasks, as the job runs them, each fed by its own thread: shards build in parallel on two cores.
        List<KeyedBroadcastOperatorTestHarness<Integer, IndexCommand, ModelVersion, ShardAnswer>> subtasks = new ArrayList<>();
        for (int subtask = 0; subtask < PARALLELISM; subtask++) {
            var h = new KeyedBroadcastOperatorTestHarness<>(
                    new CoBroadcastWithKeyedOperator<>(new ShardIndexFunction(settings), List.of(ModelVersions.STATE)),
                    (IndexCommand c) -> IndexJob.shardKey(c, settings.shards()), Types.INT, MAX_PARALLELISM, PARALLELISM, subtask);
            h.setStateBackend(new EmbeddedRocksDBStateBackend());
            h.open();
            h.setProcessingTime(T0);
            subtasks.add(h);
        }
        ExecutorService feeders = Executors.newFixedThreadPool(PARALLELISM);
        try {
            ClusteredVectors data = ClusteredVectors.of(2024, 64);
            Set<String> deletedIds = new HashSet<>();
            for (int i = 7; i < ITEMS; i += 20) {
                deletedIds.add(ClusteredVectors.itemId(i));
            }
            List<Future<?>> fed = new ArrayList<>();
            for (int subtask = 0; subtask < PARALLELISM; subtask++) {
                var h = subtasks.get(subtask);
                int mine = subtask;
                fed.add(feeders.submit(() -> {
                    for (int i = 0; i < ITEMS; i++) {
                        String id = ClusteredVectors.itemId(i);
                        if (subtaskOf(id, settings) == mine) {
                            h.processElement(command(item(id, "v1", data.vector(i), T0)), 0);
                        }
                    }
                    for (String id : deletedIds) {
                        if (subtaskOf(id, settings) == mine) {
                            h.processElement(command(deleted(id, "v1", T0 + 1)), 0);
                        }
                    }
                    return null;
                }));
            }
            BruteForceIndex exact = new BruteForceIndex(64, ITEMS);
            for (int i = 0; i < ITEMS; i++) {
                if (!deletedIds.contains(ClusteredVectors.itemId(i))) {
                    exact.upsert(ClusteredVectors.itemId(i), data.vector(i), 1);
                }
            }
            for (Future<?> f : fed) {
                f.get();
            }

            double recallSum = 0;
            for (int q = 0; q < QUERIES; q++) {
                float[] query = data.query(q);
                ShardAnswer merged = null;
                for (int shard = 0; shard < settings.shards(); shard++) {
                    var h = subtasks.get(KeyGroupRangeAssignment.assignKeyToParallelOperator(shard, MAX_PARALLELISM, PARALLELISM));
                    RecallRequest r = IndexFixtures.query("u" + q, 1, "v1", query, Map.of(), List.of(), shard);
                    h.processElement(new IndexCommand(null, r, null), 0);
                    List<ShardAnswer> out = h.extractOutputValues();
                    merged = RecallMerge.accumulate(merged, out.get(out.size() - 1), settings.k(), settings.i2iPerTrigger());
                    h.getOutput().clear();
                }
                RecallResult result = RecallMerge.result(merged, settings.k(), T0);
                List<String> got = result.getCandidates().stream().map(c -> c.getItemId()).toList();
                assertThat(got).hasSize(settings.k()).noneMatch(deletedIds::contains);
                Set<String> truth = new HashSet<>(exact.search(query, 10, id -> false).stream().map(Neighbor::itemId).toList());
                truth.retainAll(got.subList(0, 10));
                recallSum += truth.size() / 10.0;
            }
            assertThat(recallSum / QUERIES).as("mean recall@10").isGreaterThanOrEqualTo(0.95);
        } finally {
            feeders.shutdownNow();
            for (var h : subtasks) {
                h.close();
            }
        }
    }

    private static int subtaskOf(String itemId, RecallSettings settings) {
        return KeyGroupRangeAssignment.assignKeyToParallelOperator(
                dev.streamrec.index.ann.Sharding.shardOf(itemId, settings.shards()), MAX_PARALLELISM, PARALLELISM);
    }
}
