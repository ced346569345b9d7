package dev.streamrec.index;

import java.io.Serializable;

import dev.streamrec.index.ann.IndexParams;
import dev.streamrec.jobs.config.JobConfig;

/** The settings the index-job's functions share, read once from the job configuration. */
public record RecallSettings(
        int shards,
        int defaultDimension,
        IndexParams indexParams,
        long snapshotIntervalMs,
        int rebuildThreads,
        long deletedRetentionMs,
        String initialServingVersion,
        int k,
        int i2iTriggers,
        int i2iPerTrigger,
        long debounceMs,
        long userTtlMs,
        int switchRate,
        long itemBatchMs,
        int maxExcludedItems) implements Serializable {

    public static RecallSettings from(JobConfig config) {
        IndexParams params = IndexParams.defaults()
                .withM(config.getInt(IndexOptions.M))
                .withEfConstruction(config.getInt(IndexOptions.EF_CONSTRUCTION))
                .withEf(config.getInt(IndexOptions.EF));
        return new RecallSettings(
                config.getInt(IndexOptions.SHARDS),
                config.getInt(IndexOptions.DIMENSION),
                params,
                config.getLong(IndexOptions.SNAPSHOT_INTERVAL_MS),
                config.getInt(IndexOptions.REBUILD_THREADS),
                config.getLong(IndexOptions.DELETED_RETENTION_MS),
                config.get(IndexOptions.INITIAL_SERVING_VERSION),
                config.getInt(IndexOptions.K),
                config.getInt(IndexOptions.I2I_TRIGGERS),
                config.getInt(IndexOptions.I2I_PER_TRIGGER),
                config.getLong(IndexOptions.DEBOUNCE_MS),
                config.getLong(IndexOptions.USER_TTL_MS),
                config.getInt(IndexOptions.SWITCH_RATE),
                config.getLong(IndexOptions.ITEM_BATCH_MS),
                config.getInt(IndexOptions.MAX_EXCLUDED_ITEMS));
    }

    /** Defaults, for tests and benchmarks that build functions without a job configuration. */
    public static RecallSettings defaults() {
        return from(JobConfig.parse("index-job", IndexOptions.ALL));
    }

    public int effectiveRebuildThreads() {
        return rebuildThreads > 0 ? rebuildThreads : Runtime.getRuntime().availableProcessors();
    }

    public RecallSettings withShards(int s) {
        return new RecallSettings(s, defaultDimension, indexParams, snapshotIntervalMs, rebuildThreads, deletedRetentionMs,
                initialServingVersion, k, i2iTriggers, i2iPerTrigger, debounceMs, userTtlMs, switchRate, itemBatchMs, maxExcludedItems);
    }

    public RecallSettings withSnapshotIntervalMs(long ms) {
        return new RecallSettings(shards, defaultDimension, indexParams, ms, rebuildThreads, deletedRetentionMs,
                initialServingVersion, k, i2iTriggers, i2iPerTrigger, debounceMs, userTtlMs, switchRate, itemBatchMs, maxExcludedItems);
    }

    public RecallSettings withDebounceMs(long ms) {
        return new RecallSettings(shards, defaultDimension, indexParams, snapshotIntervalMs, rebuildThreads, deletedRetentionMs,
                initialServingVersion, k, i2iTriggers, i2iPerTrigger, ms, userTtlMs, switchRate, itemBatchMs, maxExcludedItems);
    }

    public RecallSettings withK(int newK, int newI2iPerTrigger) {
        return new RecallSettings(shards, defaultDimension, indexParams, snapshotIntervalMs, rebuildThreads, deletedRetentionMs,
                initialServingVersion, newK, i2iTriggers, newI2iPerTrigger, debounceMs, userTtlMs, switchRate, itemBatchMs, maxExcludedItems);
    }

    public RecallSettings withSwitchRate(int usersPerSecond) {
        return new RecallSettings(shards, defaultDimension, indexParams, snapshotIntervalMs, rebuildThreads, deletedRetentionMs,
                initialServingVersion, k, i2iTriggers, i2iPerTrigger, debounceMs, userTtlMs, usersPerSecond, itemBatchMs, maxExcludedItems);
    }

    public RecallSettings withIndexParams(IndexParams params) {
        return new RecallSettings(shards, defaultDimension, params, snapshotIntervalMs, rebuildThreads, deletedRetentionMs,
                initialServingVersion, k, i2iTriggers, i2iPerTrigger, debounceMs, userTtlMs, switchRate, itemBatchMs, maxExcludedItems);
    }
}
