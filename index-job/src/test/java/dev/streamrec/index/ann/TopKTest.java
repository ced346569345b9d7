package dev.streamrec.index.ann;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;

class TopKTest {

    private static Neighbor n(String id, float score) {
        return new Neighbor(id, score);
    }

    @Test
    void mergesBestFirstListsIntoTheBestK() {
        List<List<Neighbor>> shards = List.of(
                List.of(n("a", 0.9f), n("b", 0.5f), n("c", 0.1f)),
                List.of(),
                List.of(n("d", 0.95f), n("e", 0.6f)),
                List.of(n("f", 0.7f)));
        assertThat(TopK.mergeTopK(shards, 4)).containsExactly(n("d", 0.95f), n("a", 0.9f), n("f", 0.7f), n("e", 0.6f));
        assertThat(TopK.mergeTopK(shards, 100)).hasSize(6);
        assertThat(TopK.mergeTopK(shards, 0)).isEmpty();
        assertThat(TopK.mergeTopK(List.of(), 5)).isEmpty();
    }

    @Test
    void tiesAreOrderedByIdWhateverTheShardOrderAndDuplicatesKeptOnce() {
        List<List<Neighbor>> shards = new ArrayList<>(List.of(
                List.of(n("z", 0.5f), n("x", 0.2f)),
                List.of(n("m", 0.5f), n("x", 0.3f)),
                List.of(n("a", 0.5f))));
        List<Neighbor> expected = List.of(n("a", 0.5f), n("m", 0.5f), n("z", 0.5f), n("x", 0.3f));
        assertThat(TopK.mergeTopK(shards, 10)).isEqualTo(expected);
        java.util.Collections.reverse(shards);
        assertThat(TopK.mergeTopK(shards, 10)).isEqualTo(expected);
    }
}
