package dev.streamrec.index.ann;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.junit.jupiter.api.Test;

/** The HNSW index's own behaviour (versions of deletes, growth, compaction, bulk build); the rest is the contract's. */
class ShardVectorIndexTest extends VectorIndexContract {

    /** Small capacity and eager compaction, so growth and compaction happen in small tests. */
    static final IndexParams SMALL = IndexParams.defaults().withInitialCapacity(16).withCompactionMinDeleted(0);

    @Override
    VectorIndex newIndex(int dimension) {
        return new ShardVectorIndex(dimension, IndexParams.defaults());
    }

    static ShardVectorIndex filled(IndexParams params, int n) {
        ShardVectorIndex index = new ShardVectorIndex(DIM, params);
        for (int i = 0; i < n; i++) {
            assertThat(index.upsert(ClusteredVectors.itemId(i), DATA.vector(i), 1)).isTrue();
        }
        return index;
    }

    static float[] unit(float[] v) {
        return VectorMath.unitCopy(v, v.length);
    }

    @Test
    void storesAndHandsOutUnitCopiesWithTheirVersions() {
        ShardVectorIndex index = new ShardVectorIndex(3, IndexParams.defaults());
        index.upsert("a", new float[] {3, 0, 4}, 5);
        assertThat(index.version("a")).isEqualTo(5);
        assertThat(index.vector("a")).containsExactly(0.6f, 0f, 0.8f);
        index.vector("a")[0] = 42; // hands out copies
        assertThat(index.vector("a")[0]).isEqualTo(0.6f);
        assertThat(index.version("b")).isEqualTo(-1);
        assertThat(index.vector("b")).isNull();
    }

    @Test
    void searchReturnsTheExactNeighboursOnASmallIndexBestFirst() {
        ShardVectorIndex index = filled(IndexParams.defaults(), 500);
        BruteForceIndex exact = new BruteForceIndex(DIM);
        for (int i = 0; i < 500; i++) {
            exact.upsert(ClusteredVectors.itemId(i), DATA.vector(i), 1);
        }
        for (int q = 0; q < 20; q++) {
            List<Neighbor> hits = index.search(DATA.query(q), 10, null);
            assertThat(hits).isEqualTo(exact.search(DATA.query(q), 10, null));
            for (int i = 1; i < hits.size(); i++) {
                assertThat(hits.get(i).score()).isLessThanOrEqualTo(hits.get(i - 1).score());
            }
        }
    }

    @Test
    void reUpsertReplacesTheVectorAndTheOldPositionIsGone() {
        ShardVectorIndex index = filled(IndexParams.defaults(), 300);
        float[] old = DATA.vector(0);
        float[] moved = DATA.query(99);

        assertThat(index.search(old, 1, null).get(0).itemId()).isEqualTo("i0");
        assertThat(index.upsert("i0", moved, 2)).isTrue();

        assertThat(index.size()).isEqualTo(300);
        assertThat(index.version("i0")).isEqualTo(2);
        assertThat(index.vector("i0")).containsExactly(unit(moved));
        assertThat(index.search(moved, 1, null).get(0)).satisfies(n -> {
            assertThat(n.itemId()).isEqualTo("i0");
            assertThat(n.score()).isCloseTo(1f, within(1e-5f));
        });
        // at the old position i0 now scores its new cosine, not 1, and exactly once
        List<Neighbor> nearOld = index.search(old, 300, null);
        assertThat(nearOld.stream().filter(n -> n.itemId().equals("i0")))
                .singleElement()
                .satisfies(n -> assertThat(n.score()).isCloseTo(VectorMath.dot(unit(old), unit(moved)), within(1e-5f)));
        // the old vector left a deleted node behind
        assertThat(index.deletedNodeCount()).isEqualTo(1);
    }

    @Test
    void reUpsertOfTheSameVectorUpdatesTheVersionInPlace() {
        ShardVectorIndex index = filled(IndexParams.defaults(), 10);
        assertThat(index.upsert("i3", DATA.vector(3), 7)).isTrue();
        assertThat(index.version("i3")).isEqualTo(7);
        assertThat(index.nodeCount()).isEqualTo(10);
        assertThat(index.deletedNodeCount()).isZero();
    }

    @Test
    void anUpdateOlderThanTheItemsDeleteIsIgnored() {
        ShardVectorIndex index = new ShardVectorIndex(DIM, IndexParams.defaults());
        index.upsert("a", DATA.vector(1), 10);
        assertThat(index.upsert("a", DATA.vector(2), 9)).isFalse();
        assertThat(index.vector("a")).containsExactly(unit(DATA.vector(1)));
        assertThat(index.remove("a", 11)).isTrue();
        assertThat(index.upsert("a", DATA.vector(2), 10)).isFalse(); // older than its delete
        assertThat(index.contains("a")).isFalse();
        assertThat(index.upsert("a", DATA.vector(2), 12)).isTrue();
        assertThat(index.version("a")).isEqualTo(12);
    }

    @Test
    void capacityGrowsAndCompactionDropsDeletedNodes() {
        ShardVectorIndex index = new ShardVectorIndex(DIM, SMALL);
        Map<String, Integer> live = new HashMap<>(); // id -> index of its current vector
        Set<String> gone = new HashSet<>();
        int version = 1;
        for (int round = 0; round < 6; round++) {
            for (int i = 0; i < 300; i++) {
                String id = ClusteredVectors.itemId(i);
                int which = (i * 31 + round) % 5;
                if (which == 0) {
                    if (index.remove(id, version)) {
                        live.remove(id);
                        gone.add(id);
                    }
                } else {
                    int vec = 1000 * round + i;
                    assertThat(index.upsert(id, DATA.updatedVector(i, vec), version)).isTrue();
                    live.put(id, vec);
                    gone.remove(id);
                }
                version++;
            }
            assertThat(index.size()).isEqualTo(live.size());
            assertThat(index.capacity()).isGreaterThanOrEqualTo(index.nodeCount());
            assertThat(index.deletedNodeCount()).isLessThanOrEqualTo((int) Math.ceil(0.3 * index.nodeCount()));
            BruteForceIndex exact = new BruteForceIndex(DIM);
            live.forEach((id, vec) -> exact.upsert(id, DATA.updatedVector(Integer.parseInt(id.substring(1)), vec), 1));
            int found = 0;
            for (int q = 0; q < 10; q++) {
                float[] query = DATA.query(q + 10 * round);
                List<Neighbor> all = index.search(query, 300, null);
                assertThat(live.keySet()).containsAll(ids(all));
                assertThat(ids(all)).noneMatch(gone::contains);
                Set<String> truth = ids(exact.search(query, 10, null));
                found += index.search(query, 10, null).stream().filter(n -> truth.contains(n.itemId())).count();
            }
            assertThat(found / 100.0).isGreaterThanOrEqualTo(0.9);
        }
        assertThat(index.compactionCount()).isPositive();
        assertThat(index.capacity()).isGreaterThan(16);
        for (Map.Entry<String, Integer> e : live.entrySet()) {
            int i = Integer.parseInt(e.getKey().substring(1));
            assertThat(index.vector(e.getKey())).containsExactly(unit(DATA.updatedVector(i, e.getValue())));
        }
    }

    @Test
    void explicitCompactionKeepsItemsVersionsAndVectors() {
        ShardVectorIndex index = filled(IndexParams.defaults().withCompactionThreshold(1.0), 200);
        for (int i = 0; i < 200; i += 2) {
            index.remove(ClusteredVectors.itemId(i), 3);
        }
        index.upsert("i1", DATA.query(5), 4);
        assertThat(index.deletedNodeCount()).isEqualTo(101);
        assertThat(index.compactionCount()).isZero(); // automatic compaction is off at threshold 1

        Map<String, Long> before = versions(index);
        index.compact(2);

        assertThat(index.compactionCount()).isEqualTo(1);
        assertThat(index.deletedNodeCount()).isZero();
        assertThat(index.nodeCount()).isEqualTo(100);
        assertThat(versions(index)).isEqualTo(before);
        assertThat(index.vector("i1")).containsExactly(unit(DATA.query(5)));
        assertThat(index.search(DATA.query(5), 1, null).get(0).itemId()).isEqualTo("i1");
    }

    @Test
    void backgroundCompactionKeepsServingAndReplaysTheUpdatesMadeMeanwhile() {
        java.util.ArrayDeque<Runnable> tasks = new java.util.ArrayDeque<>();
        ShardVectorIndex index = filled(SMALL.withCompactionMinDeleted(50), 400);
        index.compactInBackground(tasks::add); // runs when this test says so
        Map<String, float[]> model = new HashMap<>();
        for (int i = 0; i < 400; i++) {
            model.put(ClusteredVectors.itemId(i), DATA.vector(i));
        }
        int i = 0;
        while (tasks.isEmpty()) { // delete until a compaction is due
            index.remove(ClusteredVectors.itemId(i), 2);
            model.remove(ClusteredVectors.itemId(i));
            i++;
        }
        assertThat(index.compactionInProgress()).isTrue();
        long compactionsBefore = index.compactionCount();

        // updates before the task runs: the task catches up with them itself
        index.remove("i399", 3);
        model.remove("i399");
        index.upsert("i398", DATA.query(1), 3);
        model.put("i398", DATA.query(1));
        index.upsert("new1", DATA.query(2), 1);
        model.put("new1", DATA.query(2));
        assertThat(index.search(DATA.query(2), 1, null).get(0).itemId()).isEqualTo("new1"); // served by the old graph
        tasks.poll().run();
        assertThat(index.compactionInProgress()).isTrue(); // nothing looked since the task finished
        // the next call swaps the graphs, then applies to the new one
        index.remove("i397", 3);
        assertThat(index.compactionInProgress()).isFalse();
        model.remove("i397");
        index.upsert("new2", DATA.query(3), 1);
        model.put("new2", DATA.query(3));

        List<Neighbor> hits = index.search(DATA.query(2), 5, null);

        assertThat(index.compactionCount()).isEqualTo(compactionsBefore + 1);
        // the new graph only holds the nodes left behind by the replayed updates: i399, i398's old vector, i397
        assertThat(index.deletedNodeCount()).isEqualTo(3);
        assertThat(hits.get(0).itemId()).isEqualTo("new1");
        assertThat(index.size()).isEqualTo(model.size());
        model.forEach((id, v) -> assertThat(index.vector(id)).containsExactly(unit(v)));
        assertThat(index.contains("i399")).isFalse();
        assertThat(index.contains("i397")).isFalse();
        assertThat(index.search(DATA.query(3), 1, null).get(0).itemId()).isEqualTo("new2");
        assertThat(tasks).isEmpty();
    }

    @Test
    void backgroundCompactionOnARealThreadNeverReturnsRemovedItems() throws Exception {
        java.util.concurrent.ExecutorService executor = java.util.concurrent.Executors.newSingleThreadExecutor();
        try {
            ShardVectorIndex index = filled(SMALL.withCompactionMinDeleted(100).withCompactionThreshold(0.2), 2000);
            index.compactInBackground(executor);
            Set<String> removed = new HashSet<>();
            int version = 2;
            boolean sawCompaction = false;
            for (int i = 0; i < 2000; i += 2) {
                String id = ClusteredVectors.itemId(i);
                index.remove(id, version++);
                removed.add(id);
                index.upsert(ClusteredVectors.itemId(2000 + i), DATA.vector(2000 + i), 1);
                sawCompaction |= index.compactionInProgress();
                if (i % 50 == 0) {
                    assertThat(ids(index.search(DATA.vector(i), 20, null))).noneMatch(removed::contains);
                }
            }
            index.awaitCompaction();
            assertThat(sawCompaction).isTrue();
            assertThat(index.compactionCount()).isPositive();
            assertThat(index.size()).isEqualTo(2000);
            for (int q = 0; q < 20; q++) {
                assertThat(ids(index.search(DATA.query(q), 100, null))).noneMatch(removed::contains);
            }
            for (String id : removed) {
                assertThat(index.contains(id)).isFalse();
            }
        } finally {
            executor.shutdownNow();
        }
    }

    @Test
    void forEachItemListsLiveItemsWithVersions() {
        ShardVectorIndex index = new ShardVectorIndex(DIM, IndexParams.defaults());
        index.upsert("a", DATA.vector(0), 3);
        index.upsert("b", DATA.vector(1), 4);
        index.upsert("c", DATA.vector(2), 5);
        index.upsert("b", DATA.vector(3), 6);
        index.remove("c", 7);
        assertThat(versions(index)).isEqualTo(Map.of("a", 3L, "b", 6L));
    }

    static Map<String, Long> versions(ShardVectorIndex index) {
        Map<String, Long> out = new HashMap<>();
        index.forEachItem((id, v) -> assertThat(out.put(id, v)).isNull());
        return out;
    }

    @Test
    void badIdsAreRejected() {
        ShardVectorIndex index = new ShardVectorIndex(3, IndexParams.defaults());
        assertThatThrownBy(() -> index.upsert("", new float[] {1, 0, 0}, 1)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> index.upsert(null, new float[] {1, 0, 0}, 1)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> index.upsert("x".repeat(16_385), new float[] {1, 0, 0}, 1))
                .isInstanceOf(IllegalArgumentException.class);
        assertThat(index.size()).isZero();
    }

    @Test
    void bulkBuildHasTheSameContentAsIncrementalUpserts() {
        List<IndexedVector> updates = new ArrayList<>();
        ShardVectorIndex incremental = new ShardVectorIndex(DIM, IndexParams.defaults());
        for (int i = 0; i < 2000; i++) {
            updates.add(DATA.item(i, 1));
        }
        for (int i = 0; i < 2000; i += 5) { // later versions of some items, listed after the first ones
            updates.add(new IndexedVector(ClusteredVectors.itemId(i), DATA.updatedVector(i, 1), 2));
        }
        updates.add(new IndexedVector("i1", DATA.updatedVector(1, 2), 0)); // an older one listed last loses
        for (IndexedVector v : updates) {
            incremental.upsert(v.itemId(), v.vector(), v.version());
        }

        ShardVectorIndex bulk = ShardVectorIndex.build(DIM, IndexParams.defaults(), updates, 2);

        assertThat(bulk.size()).isEqualTo(incremental.size()).isEqualTo(2000);
        assertThat(bulk.deletedNodeCount()).isZero();
        assertThat(versions(bulk)).isEqualTo(versions(incremental));
        for (int i = 0; i < 2000; i++) {
            String id = ClusteredVectors.itemId(i);
            assertThat(bulk.vector(id)).isEqualTo(incremental.vector(id));
        }
        BruteForceIndex exact = new BruteForceIndex(DIM);
        for (int i = 0; i < 2000; i++) {
            String id = ClusteredVectors.itemId(i);
            exact.upsert(id, incremental.vector(id), 1);
        }
        int hits = 0;
        for (int q = 0; q < 50; q++) {
            Set<String> truth = ids(exact.search(DATA.query(q), 10, null));
            List<Neighbor> b = bulk.search(DATA.query(q), 10, null);
            hits += b.stream().filter(n -> truth.contains(n.itemId())).count();
            assertThat(ids(incremental.search(DATA.query(q), 10, null))).containsAnyElementsOf(truth);
        }
        assertThat(hits / 500.0).isGreaterThanOrEqualTo(0.95);
        // and it keeps accepting updates
        bulk.remove("i0", 3);
        assertThat(bulk.contains("i0")).isFalse();
        bulk.upsert("new", DATA.query(1), 1);
        assertThat(bulk.search(DATA.query(1), 1, null).get(0).itemId()).isEqualTo("new");
    }
}
