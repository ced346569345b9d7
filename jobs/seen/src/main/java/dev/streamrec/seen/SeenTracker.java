package dev.streamrec.seen;

import java.nio.charset.StandardCharsets;

import com.google.common.hash.HashFunction;
import com.google.common.hash.Hashing;

import dev.streamrec.avro.SeenSet;

/**
 * One user's seen set, decoded from its {@link SeenSet} record: which items the user was shown and until when each
 * counts as seen. Two representations behind this one interface: {@link ExactSeenSet} (every item with its last
 * impression time) and {@link CompactSeenSet} (an exact hot tier of the latest impressions plus time-rotated Bloom
 * layers). Neither ever forgets an item within the period unless the per-user cap forces it (no false negatives);
 * the compact one may take an unseen item for seen, at most at the policy's false-positive rate.
 *
 * <p>Times are event times. Whether an item is seen "now" is {@code seenUntil(item) > now}: the answer is exact in
 * time whether or not {@link #expire} has run yet.
 */
public abstract class SeenTracker {
    private static final HashFunction MURMUR3 = Hashing.murmur3_32_fixed();

    /** What {@link #record} did with an impression. */
    public enum Outcome {
        /** Remembered (a new item, or a later impression of a known one). */
        RECORDED,
        /** The same impression again (a client retry): nothing changed. */
        DUPLICATE
    }

    protected final SeenPolicy policy;
    /** Items dropped to honour the cap (not by expiry) since this tracker was decoded. */
    protected int forgotten;

    protected SeenTracker(SeenPolicy policy) {
        this.policy = policy;
    }

    /** A new, empty set in the policy's representation. */
    public static SeenTracker empty(SeenPolicy policy) {
        return policy.representation() == SeenPolicy.Representation.EXACT ? new ExactSeenSet(policy) : new CompactSeenSet(policy);
    }

    /**
     * Decodes a stored set; a {@code null} record is an empty set. A stored set keeps its representation even if the
     * policy now names the other one (a compact set cannot be made exact); it is replaced when it expires.
     */
    public static SeenTracker of(SeenSet record, SeenPolicy policy) {
        if (record == null) {
            return empty(policy);
        }
        return SeenPolicy.Representation.of(record.getRepresentation()) == SeenPolicy.Representation.EXACT
                ? new ExactSeenSet(policy, record) : new CompactSeenSet(policy, record);
    }

    /**
     * Decodes a stored set for reading, with the period it was kept with (a reader that does not know the job's
     * options, such as the client).
     */
    public static SeenTracker read(SeenSet record) {
        SeenPolicy defaults = SeenPolicy.defaults();
        long period = record == null || record.getPeriodMs() <= 0 ? defaults.periodMs() : record.getPeriodMs();
        return of(record, defaults.withPeriod(period, Math.min(defaults.layerSpanMs(), period)));
    }

    /** Records that {@code itemId} was shown at {@code eventTime} by impression {@code impressionId}. */
    public abstract Outcome record(String itemId, String impressionId, long eventTime);

    /**
     * The event time from which {@code itemId} no longer counts as seen: its latest impression plus the period (for an
     * item in a Bloom layer, the layer's newest impression plus the period), or {@link Long#MIN_VALUE} when it is not
     * in the set.
     */
    public abstract long seenUntil(String itemId);

    public final boolean isSeen(String itemId, long now) {
        return seenUntil(itemId) > now;
    }

    /** Drops what no longer counts as seen at {@code now}. */
    public abstract void expire(long now);

    /** The earliest event time at which something in the set expires; {@link Long#MAX_VALUE} when empty. */
    public abstract long nextExpiry();

    /** Items remembered (for the compact set, items put into it: a re-shown item may count twice). */
    public abstract int size();

    public final boolean isEmpty() {
        return size() == 0;
    }

    /** The estimated probability that an unseen item is taken for seen (0 for the exact set). */
    public abstract double falsePositiveRate();

    /** Event time of the newest impression recorded. */
    public abstract long newestSeen();

    /** Items the cap made this tracker forget since it was decoded. */
    public final int forgotten() {
        return forgotten;
    }

    public abstract SeenSet toRecord();

    /** The 32-bit murmur3 hash of an id (items in the compact set, impressions in both). */
    static int hash(String id) {
        return MURMUR3.hashString(id, StandardCharsets.UTF_8).asInt();
    }

    final long until(long seenAt) {
        return seenAt > Long.MAX_VALUE - policy.periodMs() ? Long.MAX_VALUE : seenAt + policy.periodMs();
    }
}
