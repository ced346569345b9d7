package dev.streamrec.feature;

import java.util.List;

import dev.streamrec.jobs.config.Option;

/** feature-job's own options (the common ones are in {@code CommonOptions}). */
public final class FeatureOptions {
    public static final Option MAX_TRIGGERS = Option.of("features.max-triggers", 50, "Recent actions kept per user.");
    public static final Option ACTION_WEIGHTS = Option.of("features.action-weights",
            "VIEW=1,CLICK=2,LIKE=4,SHARE=5,COMMENT=4,PURCHASE=8,COMPLETE=3,DISLIKE=-4,RATE=4",
            "Weight per action; negative counts against. RATE is scaled by (value - rating midpoint) / midpoint.");
    public static final Option RATING_MIDPOINT = Option.of("features.rating-midpoint", 2.5,
            "Rating that counts as neutral (MovieLens ratings are 0.5..5).");
    public static final Option HALF_LIFE_MS = Option.of("features.half-life.ms", 7L * 24 * 3600 * 1000,
            "Half-life of the exponential decay of preferences and user vectors, in event time.");
    public static final Option MAX_PREFERENCES = Option.of("features.max-preferences", 100,
            "Category and tag preferences kept per user (the strongest by absolute weight).");
    public static final Option DIMENSION = Option.of("features.vector-dimension", 64, "Vector dimension of model versions that declare none on model-versions; other sizes are dead-lettered.");
    public static final Option USER_TTL_MS = Option.of("features.user-ttl.ms", 30L * 24 * 3600 * 1000,
            "A user with no action for this long (wall clock) is dropped from state.");
    public static final Option BATCH_MAX_DELAY_MS = Option.of("features.batch.max-delay.ms", 100,
            "Micro-batch of the user-features operator: an action is applied at once but written to state, queryable "
            + "state and the topic at most this long after it arrived (one state write and one record per user per "
            + "batch). 0 = every action on its own.");
    public static final Option BATCH_MAX_ACTIONS = Option.of("features.batch.max-actions", 5000,
            "Micro-batch: a batch is flushed once it holds this many actions (bounds the memory of a batch).");
    public static final Option HOLD_MAX_ACTIONS = Option.of("features.hold.max-actions-per-item", 1000,
            "Actions held per item while its embedding has not arrived; more are dead-lettered.");
    public static final Option HOLD_TIMEOUT_MS = Option.of("features.hold.timeout.ms", 300000,
            "Held actions of an item still without embedding this long after the first was held are dead-lettered.");
    public static final Option ITEM_CACHE_SIZE = Option.of("features.item-cache.size", 10000,
            "Item profiles kept decoded on the heap per enrich subtask (most recently used); 0 = read state every time.");
    public static final Option DELETED_ITEM_RETENTION_MS = Option.of("features.deleted-item-retention.ms", 24L * 3600 * 1000,
            "A deleted item's vectors are kept this long (late actions on it still count), then dropped.");

    public static final List<Option> ALL = List.of(MAX_TRIGGERS, ACTION_WEIGHTS, RATING_MIDPOINT, HALF_LIFE_MS,
            MAX_PREFERENCES, DIMENSION, USER_TTL_MS, BATCH_MAX_DELAY_MS, BATCH_MAX_ACTIONS, HOLD_MAX_ACTIONS, HOLD_TIMEOUT_MS, DELETED_ITEM_RETENTION_MS,
            ITEM_CACHE_SIZE);

    private FeatureOptions() {}
}
