package dev.streamrec.index;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.MapState;
import org.apache.flink.api.common.state.MapStateDescriptor;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.streaming.api.functions.co.KeyedBroadcastProcessFunction;
import org.apache.flink.util.Collector;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.streamrec.avro.IndexCommand;
import dev.streamrec.avro.ItemEmbedding;
import dev.streamrec.avro.ModelPhase;
import dev.streamrec.avro.ModelVersion;
import dev.streamrec.avro.ShardAnswer;
import dev.streamrec.avro.ShardItem;
import dev.streamrec.jobs.JobMetrics;
import dev.streamrec.jobs.ModelVersions;

/**
 * One index shard, keyed by shard number: the Flink side. Keyed state (RocksDB) is the durable source of truth:
 * every item of the shard with its vector per model version ({@code shard-items}), plus, every
 * {@code index.snapshot-interval.ms} while the shard changes, a binary snapshot of each version's HNSW graph
 * ({@link ShardSnapshotStore}). The HNSW indexes themselves live on the heap ({@link LoadedShard}, one per shard this
 * subtask has loaded) and mirror the items on every upsert and delete.
 *
 * <p>After a restore (any parallelism: shards are keys, so they move between subtasks as a whole) a shard's indexes
 * are loaded by {@link ShardRestorer} before its first command is handled. The command waits for this, so a query
 * never sees a partial index.
 *
 * <p>A query (one recall request fanned out to this shard) is answered with the shard's local top-K for the user
 * vector (u2i) and, per i2i seed, the seed's nearest items excluding the user's own trigger items, all from the
 * index of the request's model version only, and none of the user's seen items ({@code seenItems}) in either.
 */
public class ShardIndexFunction extends KeyedBroadcastProcessFunction<Integer, IndexCommand, ModelVersion, ShardAnswer> {
    private static final Logger LOG = LoggerFactory.getLogger(ShardIndexFunction.class);

    static final MapStateDescriptor<String, ShardItem> ITEMS =
            new MapStateDescriptor<>("shard-items", Types.STRING, TypeInformation.of(ShardItem.class));

    private final RecallSettings settings;

    private transient MapState<String, ShardItem> items;
    private transient ShardSnapshotStore snapshots;
    private transient ValueState<Long> sequence;
    private transient ValueState<Long> maintenanceTimer;
    private transient ShardRestorer restorer;
    /** The shards this subtask has loaded, by shard number. */
    private transient Map<Integer, LoadedShard> loaded;
    /**
     * Rebuilds graphs whose deleted nodes passed the compaction threshold, one at a time, while the shard keeps
     * answering from its current graph (inline, a 125k-item shard would stop the operator for over a minute).
     */
    private transient ExecutorService compactions;
    private transient MetricGroup metrics;

    public ShardIndexFunction(RecallSettings settings) {
        this.settings = settings;
    }

    @Override
    public void open(OpenContext openContext) {
        items = getRuntimeContext().getMapState(ITEMS);
        snapshots = new ShardSnapshotStore(getRuntimeContext().getMapState(ShardSnapshotStore.CHUNKS),
                getRuntimeContext().getMapState(ShardSnapshotStore.CHUNK_COUNTS));
        sequence = getRuntimeContext().getState(new ValueStateDescriptor<>("shard-sequence", Types.LONG));
        maintenanceTimer = getRuntimeContext().getState(new ValueStateDescriptor<>("shard-maintenance-timer", Types.LONG));
        restorer = new ShardRestorer(settings.indexParams(), settings.effectiveRebuildThreads());
        loaded = new HashMap<>();
        metrics = JobMetrics.of(getRuntimeContext());
        String threadName = "index-compaction-" + getRuntimeContext().getTaskInfo().getIndexOfThisSubtask();
        compactions = Executors.newSingleThreadExecutor(runnable -> {
            Thread thread = new Thread(runnable, threadName);
            thread.setDaemon(true);
            thread.setPriority(Thread.NORM_PRIORITY - 1); // behind the task thread that serves queries
            return thread;
        });
    }

    /** Graph compactions completed by this subtask's loaded shards (all versions). */
    long completedCompactions() {
        return loaded.values().stream().mapToLong(LoadedShard::compactionCount).sum();
    }

    @Override
    public void close() throws Exception {
        if (loaded != null) {
            loaded.values().forEach(LoadedShard::close);
        }
        if (compactions != null) {
            compactions.shutdownNow();
        }
        super.close();
    }

    @Override
    public void processElement(IndexCommand command, ReadOnlyContext ctx, Collector<ShardAnswer> out) throws Exception {
        LoadedShard shard = ensureLoaded(ctx.getCurrentKey());
        if (command.getItem() != null) {
            ModelVersion version = ctx.getBroadcastState(ModelVersions.STATE).get(command.getItem().getModelVersion());
            if (version != null && version.getPhase() == ModelPhase.RETIRED) {
                shard.staleUpdate();
                return;
            }
            apply(shard, command.getItem(), ctx.currentProcessingTime());
            scheduleMaintenance(ctx.timerService().currentProcessingTime(), ctx);
        } else if (command.getQuery() != null) {
            out.collect(shard.answer(command.getQuery(), settings.k(), settings.i2iPerTrigger()));
        }
    }

    private void apply(LoadedShard shard, ItemEmbedding event, long now) throws Exception {
        String itemId = event.getItemId();
        ItemChanges.Change change = ItemChanges.apply(items.get(itemId), event, ItemChanges.unitVector(event),
                this::nextSequence, now);
        if (change == null) {
            shard.staleUpdate();
            return;
        }
        items.put(itemId, change.item());
        shard.apply(itemId, change, this::nextSequence);
    }

    private long nextSequence() {
        try {
            Long s = sequence.value();
            long next = s == null ? 1 : s + 1;
            sequence.update(next);
            return next;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The shard's heap side, restored from its state on its first command on this subtask. */
    private LoadedShard ensureLoaded(int shardNumber) throws Exception {
        LoadedShard shard = loaded.get(shardNumber);
        if (shard == null) {
            shard = new LoadedShard(shardNumber, settings.indexParams(), compactions,
                    metrics.addGroup("shard", String.valueOf(shardNumber)));
            shard.restored(restorer.restore(shardNumber, items.entries(), snapshots, this::nextSequence));
            loaded.put(shardNumber, shard);
        }
        return shard;
    }

    // ---- maintenance: snapshots and tombstone cleanup, per shard on a processing-time timer ----

    private void scheduleMaintenance(long now, ReadOnlyContext ctx) throws IOException {
        long interval = maintenanceInterval();
        if (interval > 0 && maintenanceTimer.value() == null) {
            long at = now + interval;
            ctx.timerService().registerProcessingTimeTimer(at);
            maintenanceTimer.update(at);
        }
    }

    private long maintenanceInterval() {
        return settings.snapshotIntervalMs() > 0 ? settings.snapshotIntervalMs() : settings.deletedRetentionMs();
    }

    @Override
    public void onTimer(long timestamp, OnTimerContext ctx, Collector<ShardAnswer> out) throws Exception {
        maintenanceTimer.clear();
        LoadedShard shard = ensureLoaded(ctx.getCurrentKey());
        List<String> expired = new ArrayList<>();
        for (Map.Entry<String, ShardItem> e : items.entries()) {
            if (ItemChanges.isExpiredTombstone(e.getValue(), timestamp, settings.deletedRetentionMs())) {
                expired.add(e.getKey());
            }
        }
        for (String id : expired) {
            items.remove(id);
        }
        if (settings.snapshotIntervalMs() > 0 && !shard.snapshotCurrent()) {
            shard.writeSnapshots(snapshots);
        }
    }

    // ---- model versions: a retired version's index and state go ----

    @Override
    public void processBroadcastElement(ModelVersion event, Context ctx, Collector<ShardAnswer> out) throws Exception {
        if (!ModelVersions.remember(ctx.getBroadcastState(ModelVersions.STATE), event) || event.getPhase() != ModelPhase.RETIRED) {
            return;
        }
        String retired = event.getVersion();
        ctx.applyToKeyedState(ITEMS, (shard, state) -> {
            List<ShardItem> changed = new ArrayList<>();
            for (ShardItem item : state.values()) {
                if (item.getVersions().containsKey(retired)) {
                    changed.add(item);
                }
            }
            for (ShardItem item : changed) {
                ItemChanges.dropVersion(item, retired);
                if (item.getVersions().isEmpty() && item.getDeletedAt() == 0) {
                    state.remove(item.getItemId());
                } else {
                    state.put(item.getItemId(), item);
                }
            }
        });
        // The backend sets each shard as the current key while it applies the function, so the store's state
        // handles are that shard's.
        ctx.applyToKeyedState(ShardSnapshotStore.CHUNK_COUNTS, (shard, counts) -> snapshots.drop(retired));
        for (LoadedShard shard : loaded.values()) {
            shard.retire(retired);
        }
        LOG.info("model version {} retired: its indexes and item vectors are dropped", retired);
    }
}
