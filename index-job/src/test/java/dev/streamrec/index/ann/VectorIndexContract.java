package dev.streamrec.index.ann;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

import org.junit.jupiter.api.Test;

/** What every {@link VectorIndex} does; each implementation's test extends this with its own index. */
abstract class VectorIndexContract {

    static final int DIM = 16;
    static final ClusteredVectors DATA = new ClusteredVectors(7, DIM, 8, 0.1);

    abstract VectorIndex newIndex(int dimension);

    VectorIndex filled(int n) {
        VectorIndex index = newIndex(DIM);
        for (int i = 0; i < n; i++) {
            assertThat(index.upsert(ClusteredVectors.itemId(i), DATA.vector(i), 1)).isTrue();
        }
        return index;
    }

    static Set<String> ids(List<Neighbor> neighbors) {
        return neighbors.stream().map(Neighbor::itemId).collect(Collectors.toSet());
    }

    @Test
    void keepsAUnitCopyAndScoresAreCosines() {
        VectorIndex index = newIndex(3);
        float[] v = {3, 0, 4};
        index.upsert("a", v, 5);
        v[0] = 100; // the index keeps its own copy

        assertThat(index.size()).isEqualTo(1);
        assertThat(index.contains("a")).isTrue();
        assertThat(index.contains("b")).isFalse();
        List<Neighbor> hits = index.search(new float[] {0, 0, 2}, 5, null);
        assertThat(hits).hasSize(1);
        assertThat(hits.get(0).itemId()).isEqualTo("a");
        assertThat(hits.get(0).score()).isCloseTo(0.8f, within(1e-6f));
    }

    @Test
    void olderVersionsAreIgnored() {
        VectorIndex index = newIndex(DIM);
        index.upsert("a", DATA.vector(1), 10);
        assertThat(index.upsert("a", DATA.vector(2), 9)).isFalse();
        assertThat(index.search(DATA.vector(1), 1, null).get(0).score()).isCloseTo(1f, within(1e-5f));
        assertThat(index.remove("a", 9)).isFalse();
        assertThat(index.contains("a")).isTrue();

        assertThat(index.remove("a", 11)).isTrue();
        assertThat(index.contains("a")).isFalse();
        assertThat(index.remove("a", 12)).isFalse(); // already gone
        assertThat(index.size()).isZero();
        assertThat(index.search(DATA.vector(1), 3, null)).isEmpty();
    }

    @Test
    void removedItemsAreNeverReturned() {
        VectorIndex index = filled(400);
        Set<String> removed = new HashSet<>();
        for (int i = 0; i < 400; i += 3) {
            assertThat(index.remove(ClusteredVectors.itemId(i), 2)).isTrue();
            removed.add(ClusteredVectors.itemId(i));
        }
        assertThat(index.size()).isEqualTo(400 - removed.size());
        for (String id : removed) {
            assertThat(index.contains(id)).isFalse();
        }
        for (int q = 0; q < 30; q++) {
            List<Neighbor> hits = index.search(DATA.query(q), 400, null);
            assertThat(hits).isNotEmpty();
            assertThat(ids(hits)).noneMatch(removed::contains);
        }
        // searching exactly at a removed item's vector does not bring it back either
        for (int i = 0; i < 400; i += 3) {
            assertThat(ids(index.search(DATA.vector(i), 10, null))).doesNotContain(ClusteredVectors.itemId(i));
        }
    }

    @Test
    void reAddAfterRemoveWithAHigherVersion() {
        VectorIndex index = filled(50);
        assertThat(index.remove("i7", 5)).isTrue();
        float[] again = DATA.query(3);
        assertThat(index.upsert("i7", again, 6)).isTrue();

        assertThat(index.contains("i7")).isTrue();
        assertThat(index.size()).isEqualTo(50);
        assertThat(index.search(again, 1, null).get(0).itemId()).isEqualTo("i7");
        assertThat(index.search(again, 50, null).stream().filter(n -> n.itemId().equals("i7"))).hasSize(1);
    }

    @Test
    void excludedIdsDoNotCountTowardK() {
        VectorIndex index = filled(500);
        float[] q = DATA.query(1);
        List<Neighbor> top30 = index.search(q, 30, null);
        Set<String> excluded = top30.subList(0, 25).stream().map(Neighbor::itemId).collect(Collectors.toSet());

        List<Neighbor> hits = index.search(q, 10, excluded::contains);

        assertThat(hits).hasSize(10);
        assertThat(ids(hits)).doesNotContainAnyElementsOf(excluded);
        assertThat(hits.subList(0, 5)).isEqualTo(top30.subList(25, 30));
    }

    @Test
    void excludingAlmostEverythingStillFindsTheRest() {
        VectorIndex index = filled(300);
        Set<String> keep = Set.of("i5", "i77", "i299");
        List<Neighbor> hits = index.search(DATA.query(0), 10, id -> !keep.contains(id));
        assertThat(ids(hits)).isEqualTo(keep);
        assertThat(index.search(DATA.query(0), 10, id -> true)).isEmpty();
    }

    @Test
    void excludingASetFindsTheBestKOthersEvenWhenItHoldsMostOfTheNearest() {
        VectorIndex index = filled(500);
        BruteForceIndex exact = new BruteForceIndex(DIM);
        for (int i = 0; i < 500; i++) {
            exact.upsert(ClusteredVectors.itemId(i), DATA.vector(i), 1);
        }
        float[] q = DATA.query(2);
        List<Neighbor> top200 = exact.search(q, 200, null);
        Set<String> excluded = new HashSet<>();
        for (int i = 0; i < 200; i++) {
            if (i % 10 != 0) { // 180 of the 200 nearest
                excluded.add(top200.get(i).itemId());
            }
        }
        for (int i = 0; i < 300; i++) {
            excluded.add("not-in-the-index-" + i);
        }

        List<Neighbor> hits = index.searchExcluding(q, 200, excluded);

        assertThat(hits).hasSize(200);
        assertThat(ids(hits)).doesNotContainAnyElementsOf(excluded);
        assertThat(hits).extracting(Neighbor::itemId)
                .containsExactlyElementsOf(exact.search(q, 200, excluded::contains).stream().map(Neighbor::itemId).toList());
        assertThat(index.searchExcluding(q, 10, Set.of())).isEqualTo(index.search(q, 10, null));
        assertThat(index.searchExcluding(q, 10, Set.of("not-in-the-index"))).isEqualTo(index.search(q, 10, null));
    }

    @Test
    void badVectorsAreRejected() {
        VectorIndex index = newIndex(3);
        assertThatThrownBy(() -> index.upsert("a", new float[] {1, 2}, 1)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> index.upsert("a", new float[] {1, Float.NaN, 2}, 1)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> index.upsert("a", new float[] {1, Float.POSITIVE_INFINITY, 2}, 1))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> index.upsert("a", new float[] {0, 0, 0}, 1)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> index.search(new float[] {1, 0}, 1, null)).isInstanceOf(IllegalArgumentException.class);
        assertThat(index.size()).isZero();
        assertThat(index.search(new float[] {1, 0, 0}, 5, null)).isEmpty();
        index.upsert("a", new float[] {1, 0, 0}, 1);
        assertThat(index.search(new float[] {0, 0, 0}, 5, null)).isEmpty();
        assertThat(index.search(new float[] {1, 0, 0}, 0, null)).isEmpty();
    }
}
