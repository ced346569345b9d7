package dev.streamrec.index.ann;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;

import org.junit.jupiter.api.Test;

/** Exact search against a naive scan; the rest is the contract's. */
class BruteForceIndexTest extends VectorIndexContract {

    private static final ClusteredVectors DATA_8D = new ClusteredVectors(3, 8, 4, 0.2);

    @Override
    VectorIndex newIndex(int dimension) {
        return new BruteForceIndex(dimension);
    }

    /** The obvious way: score everything in double precision, sort. */
    private static List<String> naive(Map<String, float[]> items, float[] query, int k, Predicate<String> exclude) {
        double qn = norm(query);
        List<Map.Entry<String, Double>> scored = new ArrayList<>();
        items.forEach((id, v) -> {
            if (exclude == null || !exclude.test(id)) {
                double dot = 0;
                for (int i = 0; i < v.length; i++) {
                    dot += (double) v[i] * query[i];
                }
                scored.add(Map.entry(id, dot / (norm(v) * qn)));
            }
        });
        scored.sort(Map.Entry.<String, Double>comparingByValue(Comparator.reverseOrder()).thenComparing(Map.Entry.comparingByKey()));
        return scored.stream().limit(k).map(Map.Entry::getKey).toList();
    }

    private static double norm(float[] v) {
        double s = 0;
        for (float x : v) {
            s += (double) x * x;
        }
        return Math.sqrt(s);
    }

    @Test
    void matchesANaiveScanThroughUpsertsRemovesAndGrowth() {
        BruteForceIndex index = new BruteForceIndex(8, 2);
        Map<String, float[]> model = new HashMap<>();
        long version = 1;
        for (int i = 0; i < 3000; i++) {
            String id = ClusteredVectors.itemId(i % 700);
            if (i % 4 == 3) {
                assertThat(index.remove(id, version)).isEqualTo(model.remove(id) != null);
            } else {
                float[] v = DATA_8D.updatedVector(i % 700, i);
                assertThat(index.upsert(id, v, version)).isTrue();
                model.put(id, v);
            }
            version++;
        }
        assertThat(index.size()).isEqualTo(model.size());
        for (String id : model.keySet()) {
            assertThat(index.contains(id)).isTrue();
        }
        for (int q = 0; q < 30; q++) {
            float[] query = DATA_8D.query(q);
            List<Neighbor> hits = index.search(query, 25, null);
            assertThat(hits).extracting(Neighbor::itemId).isEqualTo(naive(model, query, 25, null));
            Predicate<String> odd = id -> id.hashCode() % 2 != 0;
            assertThat(index.search(query, 25, odd)).extracting(Neighbor::itemId).isEqualTo(naive(model, query, 25, odd));
            for (int i = 1; i < hits.size(); i++) {
                assertThat(hits.get(i).score()).isLessThanOrEqualTo(hits.get(i - 1).score());
            }
        }
        assertThat(index.search(DATA_8D.query(0), 10_000, null)).hasSize(model.size());
    }
}
