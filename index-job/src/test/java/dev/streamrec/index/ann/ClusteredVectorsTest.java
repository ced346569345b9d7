package dev.streamrec.index.ann;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class ClusteredVectorsTest {

    @Test
    void deterministicPerSeedAndIndexInAnyOrder() {
        ClusteredVectors a = ClusteredVectors.of(11, 64);
        ClusteredVectors b = ClusteredVectors.of(11, 64);
        float[] late = b.vector(999);
        assertThat(a.vector(999)).isEqualTo(late);
        assertThat(a.vector(5)).isEqualTo(b.vector(5));
        assertThat(a.query(5)).isEqualTo(b.query(5)).isNotEqualTo(a.vector(5));
        assertThat(a.vector(5)).isNotEqualTo(ClusteredVectors.of(12, 64).vector(5));
        assertThat(a.updatedVector(5, 0)).isEqualTo(a.vector(5));
        assertThat(a.updatedVector(5, 1)).isNotEqualTo(a.vector(5));
        assertThat(a.items(10, 13)).extracting(IndexedVector::itemId).containsExactly("i10", "i11", "i12");
        assertThat(a.vector(0)).hasSize(64);
    }

    @Test
    void itemsAreClusteredAroundTheirCentroid() {
        // with spread 0.1 at 64 dimensions an item's cosine to its nearest centroid is about 0.78
        ClusteredVectors data = ClusteredVectors.of(1, 64);
        BruteForceIndex items = new BruteForceIndex(64);
        for (int i = 0; i < 2000; i++) {
            items.upsert(ClusteredVectors.itemId(i), data.vector(i), 1);
        }
        // the nearest neighbour of an item is much closer than a random item
        double nearest = 0;
        double random = 0;
        for (int i = 0; i < 50; i++) {
            float[] v = data.vector(i);
            nearest += items.search(v, 2, null).get(1).score();
            random += VectorMath.dot(VectorMath.unitCopy(v, 64), VectorMath.unitCopy(data.vector(1000 + i), 64));
        }
        assertThat(nearest / 50).isGreaterThan(0.5);
        assertThat(Math.abs(random / 50)).isLessThan(0.2);
    }
}
