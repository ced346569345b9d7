package dev.streamrec.index;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import dev.streamrec.avro.RecallRefill;
import dev.streamrec.avro.SeenExclusion;

/**
 * A user's seen-item exclusions (pure functions): the items dedup-job's refills named, each with the event time from
 * which it may be recalled again ({@code until}). {@link RecallScheduler} keeps them as one record per user, the
 * user's latest refill with the exclusions of the earlier ones merged in, latest {@code until} first.
 */
final class SeenExclusions {
    /** The order exclusions are kept (and capped) in: latest {@code until} first, then by item id. */
    private static final Comparator<SeenExclusion> LATEST_FIRST =
            Comparator.comparingLong(SeenExclusion::getUntil).reversed().thenComparing(SeenExclusion::getItemId);

    private SeenExclusions() {}

    /**
     * The exclusions after {@code refill}: the stored ones (null: none) and the refill's, per item the latest
     * {@code until}; those whose {@code until} is not after the refill's {@code sourceEventTime} are dropped (the
     * recall that ran short already could have them again), and of the rest the {@code max} with the latest
     * {@code until} are kept. The result is the refill's record with these exclusions.
     */
    static RecallRefill merge(RecallRefill stored, RecallRefill refill, int max) {
        Map<String, Long> until = new HashMap<>();
        if (stored != null) {
            stored.getExcluded().forEach(e -> until.merge(e.getItemId(), e.getUntil(), Math::max));
        }
        refill.getExcluded().forEach(e -> until.merge(e.getItemId(), e.getUntil(), Math::max));
        List<SeenExclusion> kept = new ArrayList<>(until.size());
        until.forEach((item, t) -> {
            if (t > refill.getSourceEventTime()) {
                kept.add(new SeenExclusion(item, t));
            }
        });
        kept.sort(LATEST_FIRST);
        List<SeenExclusion> capped = new ArrayList<>(kept.subList(0, Math.min(Math.max(0, max), kept.size())));
        return RecallRefill.newBuilder(refill).setExcluded(capped).build();
    }

    /** The items still excluded for a recall of event time {@code eventTime}: those whose {@code until} is later. */
    static List<String> seenAt(RecallRefill stored, long eventTime) {
        List<String> items = new ArrayList<>();
        if (stored != null) {
            for (SeenExclusion e : stored.getExcluded()) {
                if (e.getUntil() > eventTime) {
                    items.add(e.getItemId());
                }
            }
        }
        return items;
    }
}
