package dev.streamrec.client;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;

import dev.streamrec.avro.Candidate;
import dev.streamrec.avro.RecallResult;
import dev.streamrec.avro.SeenSet;
import dev.streamrec.seen.SeenPolicy;
import dev.streamrec.seen.SeenTracker;

/** Which answer the feed call gives from the fresh-recall, recall and seen lookups. */
class FeedRecallTest {
    private static final long T0 = 1_700_000_000_000L;

    private static RecallResult recall(long computedAt, String... items) {
        List<Candidate> candidates = new ArrayList<>();
        for (String item : items) {
            candidates.add(new Candidate(item, 1.0, "u2i"));
        }
        return new RecallResult("u1", "v1", candidates, computedAt, T0);
    }

    private static <T> Lookup<T> found(T value, QueryTarget<T> target) {
        return new Lookup<>(Lookup.Outcome.FOUND, value, target, "u1", null, 1, Duration.ofMillis(1), null);
    }

    private static <T> Lookup<T> none(QueryTarget<T> target) {
        return new Lookup<>(Lookup.Outcome.NO_VALUE, null, target, "u1", null, 1, Duration.ofMillis(1), null);
    }

    private static Lookup<SeenSet> seen(String... items) {
        SeenTracker t = SeenTracker.empty(SeenPolicy.defaults());
        for (String item : items) {
            t.record(item, "imp-" + item, T0 - 1000);
        }
        return found(t.toRecord(), QueryTarget.seen());
    }

    @Test
    void aFreshResultAsNewAsTheLatestRecallIsTheAnswer() {
        FeedRecall f = FeedRecall.of(found(recall(5, "a"), QueryTarget.freshRecall()),
                found(recall(5, "a", "b"), QueryTarget.recall()), () -> { throw new AssertionError("seen not needed"); });
        assertThat(f.source()).isEqualTo(FeedRecall.Source.FRESH_RECALL);
        assertThat(f.result().getCandidates()).extracting(Candidate::getItemId).containsExactly("a");
        assertThat(f.computedAt()).isEqualTo(5);
        assertThat(f.sourceEventTime()).isEqualTo(T0);
    }

    @Test
    void anOlderOrMissingFreshResultGivesTheLatestRecallFilteredBySeen() {
        FeedRecall older = FeedRecall.of(found(recall(4, "a"), QueryTarget.freshRecall()),
                found(recall(5, "a", "b", "c"), QueryTarget.recall()), () -> seen("b"));
        assertThat(older.source()).isEqualTo(FeedRecall.Source.RECALL_FILTERED_BY_SEEN);
        assertThat(older.result().getCandidates()).extracting(Candidate::getItemId).containsExactly("a", "c");
        FeedRecall missing = FeedRecall.of(none(QueryTarget.freshRecall()), found(recall(5, "a", "b"), QueryTarget.recall()),
                () -> none(QueryTarget.seen()));
        assertThat(missing.source()).isEqualTo(FeedRecall.Source.RECALL_FILTERED_BY_SEEN);
        assertThat(missing.result().getCandidates()).hasSize(2);
    }

    @Test
    void noRecallAtAllIsNone() {
        FeedRecall f = FeedRecall.of(none(QueryTarget.freshRecall()), none(QueryTarget.recall()), () -> none(QueryTarget.seen()));
        assertThat(f.found()).isFalse();
        assertThat(f.result()).isNull();
    }
}
