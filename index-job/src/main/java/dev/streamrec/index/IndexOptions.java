package dev.streamrec.index;

import java.util.List;

import dev.streamrec.jobs.config.Option;

/** index-job's own options (the common ones are in {@code CommonOptions}). */
public final class IndexOptions {
    public static final Option SHARDS = Option.of("index.shards", 8,
            "Index shards (items go to shard hash(itemId) mod shards). Independent of parallelism; fixed for the life of the state.");
    public static final Option DIMENSION = Option.of("index.vector-dimension", 64,
            "Vector dimension of a model version that model-versions does not declare one for; other sizes are dead-lettered.");
    public static final Option M = Option.of("index.hnsw.m", 16, "HNSW links per node (more: better recall, more memory).");
    public static final Option EF_CONSTRUCTION = Option.of("index.hnsw.ef-construction", 100,
            "HNSW candidate list size while inserting (more: better graph, slower inserts).");
    public static final Option EF = Option.of("index.hnsw.ef", 200,
            "HNSW candidate list size while searching; the effective value is at least the number of results asked for.");
    public static final Option SNAPSHOT_INTERVAL_MS = Option.of("index.snapshot-interval.ms", 600000,
            "How often a shard whose index changed writes a snapshot of it into keyed state, so a restore loads it "
                    + "instead of rebuilding; 0 turns snapshots off (restores rebuild from the items).");
    public static final Option REBUILD_THREADS = Option.of("index.rebuild-threads", 0,
            "Threads a shard uses to rebuild an index from its items after a restore; 0 = available processors.");
    public static final Option DELETED_RETENTION_MS = Option.of("index.deleted-item-retention.ms", 7L * 24 * 3600 * 1000,
            "How long a deleted item's tombstone is kept (so an older upsert replayed later cannot bring it back).");
    public static final Option INITIAL_SERVING_VERSION = Option.of("model.initial-serving-version", "v1",
            "The model version that serves until model-versions declares one SERVING.");
    public static final Option K = Option.of("recall.k", 200, "Candidates per user (and per shard, before the merge).");
    public static final Option I2I_TRIGGERS = Option.of("recall.i2i-triggers", 5,
            "The user's most recent distinct trigger items whose nearest neighbours form the i2i channel.");
    public static final Option I2I_PER_TRIGGER = Option.of("recall.i2i-per-trigger", 40, "Neighbours kept per i2i trigger item.");
    public static final Option DEBOUNCE_MS = Option.of("recall.debounce.ms", 1000,
            "A user's recall is computed at most once per this interval: a burst of feature updates costs one computation; "
                    + "0 = every changed vector is answered at once.");
    public static final Option USER_TTL_MS = Option.of("recall.user-ttl.ms", 30L * 24 * 3600 * 1000,
            "A user whose recall has not been recomputed for this long (wall clock) is dropped from state.");
    public static final Option SWITCH_RATE = Option.of("recall.switch.rate", 1000,
            "Recomputations per second and scheduler subtask that a version switch (or a version's first items) starts "
                    + "for users whose recall does not follow yet: spread so a switch does not stall the job.");
    public static final Option ITEM_BATCH_MS = Option.of("recall.item-batch.ms", 500,
            "Item deletes (and versions gaining items) are gathered this long, then applied to every stored recall at once.");

    public static final Option MAX_EXCLUDED_ITEMS = Option.of("recall.max-excluded-items", 1000,
            "Seen items a user's recall keeps excluding (sent by dedup-job on recall-refills, each until its time); "
                    + "beyond this many, those that may come back soonest are forgotten first.");

    public static final Option BUFFER_TIMEOUT_MS = Option.of("index.buffer-timeout.ms", 5,
            "Longest time a record waits in a network buffer between operators. A recall crosses five exchanges, so "
                    + "Flink's default (100 ms each) would dominate its latency.");

    public static final List<Option> ALL = List.of(SHARDS, DIMENSION, M, EF_CONSTRUCTION, EF, SNAPSHOT_INTERVAL_MS,
            REBUILD_THREADS, DELETED_RETENTION_MS, INITIAL_SERVING_VERSION, K, I2I_TRIGGERS, I2I_PER_TRIGGER, DEBOUNCE_MS,
            USER_TTL_MS, SWITCH_RATE, ITEM_BATCH_MS, MAX_EXCLUDED_ITEMS, BUFFER_TIMEOUT_MS);

    private IndexOptions() {}
}
