package dev.streamrec.client;

import java.util.function.Supplier;

import dev.streamrec.avro.RecallResult;
import dev.streamrec.avro.SeenSet;
import dev.streamrec.seen.SeenFilter;
import dev.streamrec.seen.SeenTracker;

/**
 * What a feed server asks for: a user's recall without what the user has been shown, and how fresh it is.
 *
 * @param source  where the candidates come from: {@link Source#FRESH_RECALL} (dedup-job's fresh recall, as current as
 *                the latest recall), {@link Source#RECALL_FILTERED_BY_SEEN} (dedup-job's fresh recall was missing or
 *                older than index-job's latest recall: the latest recall filtered here by the user's {@code seen}
 *                set), or {@link Source#NONE} (no recall for the user, or no answer in time: see the lookups)
 * @param result  the candidates with the answer's {@code sourceEventTime} and {@code computedAt}; null for NONE
 * @param fresh   the fresh-recall lookup
 * @param latest  the recall lookup (both are read: the fresh result is compared with the latest)
 */
public record FeedRecall(Source source, RecallResult result, Lookup<RecallResult> fresh, Lookup<RecallResult> latest) {
    public enum Source { FRESH_RECALL, RECALL_FILTERED_BY_SEEN, NONE }

    /**
     * The answer from the two lookups: the fresh result when it is at least as new as the latest recall; else the
     * latest recall filtered by the seen set {@code seen} reads (only then read).
     */
    public static FeedRecall of(Lookup<RecallResult> fresh, Lookup<RecallResult> latest, Supplier<Lookup<SeenSet>> seen) {
        if (fresh.found() && (!latest.found() || fresh.value().getComputedAt() >= latest.value().getComputedAt())) {
            return new FeedRecall(Source.FRESH_RECALL, fresh.value(), fresh, latest);
        }
        if (!latest.found()) {
            return new FeedRecall(Source.NONE, null, fresh, latest);
        }
        RecallResult recall = latest.value();
        Lookup<SeenSet> seenSet = seen.get();
        if (seenSet.found()) {
            SeenTracker tracker = SeenTracker.read(seenSet.value());
            // The client has no event-time clock: the newest of the seen set's and the recall's times stands for it.
            long now = Math.max(tracker.newestSeen(), recall.getSourceEventTime());
            recall = SeenFilter.filter(recall, tracker, now).fresh();
        }
        return new FeedRecall(Source.RECALL_FILTERED_BY_SEEN, recall, fresh, latest);
    }

    public boolean found() {
        return source != Source.NONE;
    }

    /** Event time of the user action the candidates reflect (0 when none). */
    public long sourceEventTime() {
        return result == null ? 0 : result.getSourceEventTime();
    }

    /** Wall-clock time the candidates were computed by index-job (0 when none). */
    public long computedAt() {
        return result == null ? 0 : result.getComputedAt();
    }
}
