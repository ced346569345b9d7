package dev.streamrec.dedup;

import java.util.List;

import dev.streamrec.jobs.config.Option;
import dev.streamrec.seen.SeenPolicy;

/** dedup-job's own options (the common ones are in {@code CommonOptions}). */
public final class DedupOptions {
    private static final long DAY_MS = SeenPolicy.DAY_MS;
    private static final SeenPolicy DEFAULTS = SeenPolicy.defaults();

    public static final Option PERIOD_MS = Option.of("dedup.period.ms", 7 * DAY_MS,
            "An item shown to a user is not recalled to them again for this long (event time).");
    public static final Option REPRESENTATION = Option.of("dedup.representation", "compact",
            "Seen-set representation of new users: compact (exact hot tier + time-rotated layers of hashes or Bloom filters, the default "
            + "by the benchmark figures) or exact (item -> latest impression). A stored set keeps its own.");
    public static final Option MAX_SEEN_ITEMS = Option.of("dedup.max-seen-items", 2000,
            "Seen items kept per user at most; beyond it the oldest are forgotten.");
    public static final Option FALSE_POSITIVE_RATE = Option.of("dedup.false-positive-rate", 0.01,
            "compact: the bound on the share of unseen items taken for seen.");
    public static final Option HOT_ITEMS = Option.of("dedup.compact.hot-items", DEFAULTS.hotItems(),
            "compact: the latest impressions kept exactly (client retries are caught among them).");
    public static final Option LAYER_SPAN_MS = Option.of("dedup.compact.layer-span.ms", DEFAULTS.layerSpanMs(),
            "compact: event time one layer takes impressions for; an item may stay seen this much longer than the "
            + "period.");
    public static final Option FIRST_LAYER_CAPACITY = Option.of("dedup.compact.first-layer-capacity", DEFAULTS.firstLayerCapacity(),
            "compact: items a user's first layer is sized for (later layers adapt to the user's rate).");
    public static final Option MAX_LAYERS = Option.of("dedup.compact.max-layers", DEFAULTS.maxLayers(),
            "compact: live layers the false-positive bound is planned for (the period over the span, plus one): a "
            + "layer's Bloom filter is sized for what the older live ones leave of false-positive-rate, shared among "
            + "the layers still to come of these.");
    public static final Option MIN_FRESH = Option.of("dedup.min-fresh", 100,
            "A fresh recall with fewer unseen candidates asks index-job for a refill that excludes the seen ones.");
    public static final Option REFILL_TIMEOUT_MS = Option.of("dedup.refill.timeout.ms", 30_000,
            "A user's refill in flight for this long (wall clock) without a result that has enough candidates may be "
            + "asked for again.");
    public static final Option BATCH_MAX_DELAY_MS = Option.of("dedup.batch.max-delay.ms", 50,
            "Impressions are applied per user in micro-batches written at most this long (processing time) after the "
            + "batch's first impression: then the item leaves the queryable fresh recall and the topic gets one "
            + "record per user and batch. 0 = every impression on its own.");
    public static final Option BATCH_MAX_IMPRESSIONS = Option.of("dedup.batch.max-impressions", 5000,
            "A micro-batch is written once it holds this many impressions (bounds its memory).");
    public static final Option USER_TTL_MS = Option.of("dedup.user-ttl.ms", 30 * DAY_MS,
            "A user's fresh recall is dropped when no newer recall came for this long (event time).");

    public static final List<Option> ALL = List.of(PERIOD_MS, REPRESENTATION, MAX_SEEN_ITEMS, FALSE_POSITIVE_RATE,
            HOT_ITEMS, LAYER_SPAN_MS, FIRST_LAYER_CAPACITY, MAX_LAYERS, MIN_FRESH, REFILL_TIMEOUT_MS, BATCH_MAX_DELAY_MS,
            BATCH_MAX_IMPRESSIONS,
            USER_TTL_MS);

    private DedupOptions() {}
}
