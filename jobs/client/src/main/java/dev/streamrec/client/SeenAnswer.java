package dev.streamrec.client;

import dev.streamrec.avro.SeenSet;

/**
 * Whether a user has seen an item (dedup-job's {@code seen}).
 *
 * @param lookup             the seen-set lookup (found, no value: the user has seen nothing within the period, or
 *                           no answer in time)
 * @param itemId             the item asked about
 * @param seenUntil          event time from which the item no longer counts as seen; {@link Long#MIN_VALUE} when it
 *                           is not in the set
 * @param setSize            items in the user's set
 * @param falsePositiveRate  the set's estimated false-positive rate (0 for an exact set)
 */
public record SeenAnswer(Lookup<SeenSet> lookup, String itemId, long seenUntil, int setSize, double falsePositiveRate) {
    /** In the set (it may have expired in event time already if dedup-job has not cleaned up yet). */
    public boolean inSet() {
        return seenUntil != Long.MIN_VALUE;
    }

    /** Seen as of event time {@code now}. */
    public boolean seenAt(long now) {
        return seenUntil > now;
    }
}
