package dev.streamrec.index.ann;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * The quality bar, on the index alone: 100,000 clustered 64-dimensional vectors in 8 shards (by
 * {@link Sharding#shardOf}), default parameters; the merged top-10 of every shard's top-200 against the exact top-10.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ShardedQualityTest {

    static final int N = 100_000;
    static final int DIM = 64;
    static final int SHARDS = 8;
    static final int QUERIES = 200;
    static final int K_SHARD = 200;
    static final int K = 10;

    final ClusteredVectors data = ClusteredVectors.of(2024, DIM);
    final VectorIndex[] shards = new VectorIndex[SHARDS];
    final BruteForceIndex exact = new BruteForceIndex(DIM, N);

    @BeforeAll
    void build() throws Exception {
        List<List<IndexedVector>> perShard = new ArrayList<>();
        for (int s = 0; s < SHARDS; s++) {
            perShard.add(new ArrayList<>());
        }
        for (int i = 0; i < N; i++) {
            IndexedVector v = data.item(i, 1);
            perShard.get(Sharding.shardOf(v.itemId(), SHARDS)).add(v);
            exact.upsert(v.itemId(), v.vector(), 1);
        }
        // two shards at a time, each built by one thread: separate graphs share no locks, whereas hnswlib's own
        // multi-threaded insert into one graph contends on its node locks (slower than one thread on a busy machine)
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            List<Future<ShardVectorIndex>> built = new ArrayList<>();
            for (List<IndexedVector> items : perShard) {
                built.add(pool.submit(() -> ShardVectorIndex.build(DIM, IndexParams.defaults(), items, 1)));
            }
            for (int s = 0; s < SHARDS; s++) {
                shards[s] = built.get(s).get();
            }
        } finally {
            pool.shutdownNow();
        }
    }

    private List<Neighbor> shardedSearch(float[] query, int k) {
        List<List<Neighbor>> answers = new ArrayList<>(SHARDS);
        for (VectorIndex shard : shards) {
            answers.add(shard.search(query, K_SHARD, null));
        }
        return TopK.mergeTopK(answers, k);
    }

    private double recallAt10() {
        int found = 0;
        for (int q = 0; q < QUERIES; q++) {
            float[] query = data.query(q);
            Set<String> truth = new HashSet<>();
            exact.search(query, K, null).forEach(n -> truth.add(n.itemId()));
            found += shardedSearch(query, K).stream().filter(n -> truth.contains(n.itemId())).count();
        }
        double recall = found / (double) (QUERIES * K);
        System.out.printf("ShardedQualityTest: recall@10 %.4f over %d queries, %d live items%n", recall, QUERIES, exact.size());
        return recall;
    }

    @Test
    @Order(1)
    void shardsSplitTheItemsEvenly() {
        int total = 0;
        for (VectorIndex shard : shards) {
            assertThat(shard.size()).isBetween(N / SHARDS - 600, N / SHARDS + 600);
            total += shard.size();
        }
        assertThat(total).isEqualTo(N);
    }

    @Test
    @Order(2)
    void recallAt10IsAtLeast095() {
        assertThat(recallAt10()).isGreaterThanOrEqualTo(0.95);
    }

    @Test
    @Order(3)
    void afterDeletingFivePercentNoneAppearsAndRecallHolds() {
        SplittableRandom random = new SplittableRandom(99);
        Set<String> deleted = new HashSet<>();
        while (deleted.size() < N / 20) {
            String id = ClusteredVectors.itemId(random.nextInt(N));
            if (deleted.add(id)) {
                assertThat(shards[Sharding.shardOf(id, SHARDS)].remove(id, 2)).isTrue();
                assertThat(exact.remove(id, 2)).isTrue();
            }
        }
        // queries aimed straight at deleted items and ordinary queries
        for (int q = 0; q < QUERIES; q++) {
            String target = ClusteredVectors.itemId(random.nextInt(N));
            float[] atItem = data.vector(Integer.parseInt(target.substring(1)));
            for (float[] query : List.of(data.query(q), atItem)) {
                List<Neighbor> merged = shardedSearch(query, SHARDS * K_SHARD);
                assertThat(merged).hasSizeGreaterThan(K_SHARD);
                List<String> resurrected = merged.stream().map(Neighbor::itemId).filter(deleted::contains).toList();
                assertThat(resurrected).isEmpty();
            }
        }
        assertThat(recallAt10()).isGreaterThanOrEqualTo(0.95);
    }
}
