package dev.streamrec.index;

import java.io.IOException;
import java.io.InputStream;
import java.io.SequenceInputStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.MapState;
import org.apache.flink.api.common.state.MapStateDescriptor;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.PrimitiveArrayTypeInfo;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.Histogram;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.runtime.metrics.DescriptiveStatisticsHistogram;
import org.apache.flink.streaming.api.functions.co.KeyedBroadcastProcessFunction;
import org.apache.flink.util.Collector;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.streamrec.avro.IndexCommand;
import dev.streamrec.avro.ItemEmbedding;
import dev.streamrec.avro.ModelPhase;
import dev.streamrec.avro.ModelVersion;
import dev.streamrec.avro.RecallRequest;
import dev.streamrec.avro.ScoredItem;
import dev.streamrec.avro.ShardAnswer;
import dev.streamrec.avro.ShardItem;
import dev.streamrec.avro.VersionedVector;
import dev.streamrec.index.ann.IndexParams;
import dev.streamrec.index.ann.IndexSnapshotCodec;
import dev.streamrec.index.ann.IndexedVector;
import dev.streamrec.index.ann.Neighbor;
import dev.streamrec.index.ann.ShardVectorIndex;
import dev.streamrec.jobs.JobMetrics;
import dev.streamrec.jobs.ModelVersions;

/**
 * One index shard, keyed by shard number. Keyed state (RocksDB) is the durable source of truth: every item of the
 * shard with its vector per model version ({@code shard-items}), plus, every {@code index.snapshot-interval.ms} while
 * the shard changes, a binary snapshot of each version's HNSW graph ({@code index-snapshot}). The HNSW indexes
 * themselves live on the heap, one per (shard, version), and mirror the items on every upsert and delete.
 *
 * <p>After a restore (any parallelism: shards are keys, so they move between subtasks as a whole) a shard's indexes
 * are loaded before its first command is handled: from the snapshot, then reconciled with the items (entries
 * changed or deleted since the snapshot are re-applied), or rebuilt from the items where no snapshot exists. The
 * command waits for this, so a query never sees a partial index.
 *
 * <p>A query (one recall request fanned out to this shard) is answered with the shard's local top-K for the user
 * vector (u2i) and, per i2i seed, the seed's nearest items excluding the user's own trigger items, all from the
 * index of the request's model version only.
 */
public class ShardIndexFunction extends KeyedBroadcastProcessFunction<Integer, IndexCommand, ModelVersion, ShardAnswer> {
    private static final Logger LOG = LoggerFactory.getLogger(ShardIndexFunction.class);
    /** Snapshot bytes are stored in chunks: RocksDB handles a few MB per value well, not hundreds. */
    static final int SNAPSHOT_CHUNK_BYTES = 4 << 20;

    static final MapStateDescriptor<String, ShardItem> ITEMS =
            new MapStateDescriptor<>("shard-items", Types.STRING, TypeInformation.of(ShardItem.class));
    static final MapStateDescriptor<String, byte[]> SNAPSHOT_CHUNKS =
            new MapStateDescriptor<>("index-snapshot", Types.STRING, PrimitiveArrayTypeInfo.BYTE_PRIMITIVE_ARRAY_TYPE_INFO);
    static final MapStateDescriptor<String, Integer> SNAPSHOT_SIZES =
            new MapStateDescriptor<>("index-snapshot-chunks", Types.STRING, Types.INT);

    private final RecallSettings settings;

    private transient MapState<String, ShardItem> items;
    private transient MapState<String, byte[]> snapshotChunks;
    private transient MapState<String, Integer> snapshotSizes;
    private transient ValueState<Long> sequence;
    private transient ValueState<Long> maintenanceTimer;
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
        snapshotChunks = getRuntimeContext().getMapState(SNAPSHOT_CHUNKS);
        snapshotSizes = getRuntimeContext().getMapState(SNAPSHOT_SIZES);
        sequence = getRuntimeContext().getState(new ValueStateDescriptor<>("shard-sequence", Types.LONG));
        maintenanceTimer = getRuntimeContext().getState(new ValueStateDescriptor<>("shard-maintenance-timer", Types.LONG));
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
        return loaded.values().stream().flatMap(s -> s.indexes.values().stream())
                .mapToLong(ShardVectorIndex::compactionCount).sum();
    }

    @Override
    public void close() throws Exception {
        if (loaded != null) {
            loaded.values().forEach(shard -> shard.indexes.values().forEach(ShardVectorIndex::cancelCompaction));
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
                shard.staleUpdates.inc();
                return;
            }
            apply(shard, command.getItem(), ctx.currentProcessingTime());
            scheduleMaintenance(ctx.timerService().currentProcessingTime(), ctx);
        } else if (command.getQuery() != null) {
            out.collect(answer(shard, command.getQuery()));
        }
    }

    private void apply(LoadedShard shard, ItemEmbedding event, long now) throws Exception {
        String itemId = event.getItemId();
        float[] unit = ItemChanges.unitVector(event);
        ItemChanges.Change change = ItemChanges.apply(items.get(itemId), event, unit, this::nextSequence, now);
        if (change == null) {
            shard.staleUpdates.inc();
            return;
        }
        items.put(itemId, change.item());
        for (String version : change.removed()) {
            ShardVectorIndex index = shard.indexes.get(version);
            if (index != null) {
                index.remove(itemId, nextSequence());
            }
        }
        for (String version : change.upserted()) {
            VersionedVector v = change.item().getVersions().get(version);
            float[] vector = AvroVectors.fromBytes(v.getVector());
            shard.indexFor(version, vector.length).upsert(itemId, vector, v.getSeq());
        }
        shard.dirty = true;
        shard.itemUpdates.inc();
    }

    private ShardAnswer answer(LoadedShard shard, RecallRequest query) {
        long start = System.nanoTime();
        ShardVectorIndex index = shard.indexes.get(query.getModelVersion());
        List<ScoredItem> u2i = List.of();
        Map<String, List<ScoredItem>> i2i = new HashMap<>();
        if (index != null && index.size() > 0) {
            if (!AvroVectors.isEmpty(query.getUserVector())) {
                float[] userVector = AvroVectors.fromBytes(query.getUserVector());
                if (userVector.length == index.dimension()) {
                    u2i = scored(index.search(userVector, settings.k(), id -> false));
                } else {
                    shard.dimensionMismatches.inc();
                }
            }
            Set<String> excluded = new HashSet<>(query.getExcludedItems());
            for (String seed : query.getTriggerItems()) {
                java.nio.ByteBuffer bytes = query.getTriggerVectors().get(seed);
                if (bytes != null) {
                    float[] seedVector = AvroVectors.fromBytes(bytes);
                    if (seedVector.length == index.dimension()) {
                        i2i.put(seed, scored(index.search(seedVector, settings.i2iPerTrigger(), excluded::contains)));
                    }
                }
            }
        }
        shard.recallComputations.inc();
        shard.recallLatencyMicros.update((System.nanoTime() - start) / 1000);
        return ShardAnswer.newBuilder()
                .setUserId(query.getUserId())
                .setRequestId(query.getRequestId())
                .setModelVersion(query.getModelVersion())
                .setAnswers(1)
                .setSourceEventTime(query.getSourceEventTime())
                .setRequestedAt(query.getRequestedAt())
                .setTriggerItems(new ArrayList<>(query.getTriggerItems()))
                .setU2i(u2i)
                .setI2i(i2i)
                .build();
    }

    private static List<ScoredItem> scored(List<Neighbor> neighbors) {
        List<ScoredItem> out = new ArrayList<>(neighbors.size());
        for (Neighbor n : neighbors) {
            out.add(new ScoredItem(n.itemId(), (double) n.score()));
        }
        return out;
    }

    private long nextSequence() {
        try {
            Long s = sequence.value();
            long next = s == null ? 1 : s + 1;
            sequence.update(next);
            return next;
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    // ---- restore: load snapshot, reconcile with the items, rebuild what has no snapshot ----

    private LoadedShard ensureLoaded(int shardNumber) throws Exception {
        LoadedShard shard = loaded.get(shardNumber);
        if (shard != null) {
            return shard;
        }
        long start = System.nanoTime();
        shard = new LoadedShard(shardNumber, metrics.addGroup("shard", String.valueOf(shardNumber)), settings.indexParams(),
                compactions);
        Map<String, ShardVectorIndex> fromSnapshot = new HashMap<>();
        for (Map.Entry<String, Integer> e : snapshotSizes.entries()) {
            try {
                fromSnapshot.put(e.getKey(), readSnapshot(e.getKey(), e.getValue()));
            } catch (IOException | RuntimeException ex) {
                LOG.warn("shard {}: snapshot of version {} unreadable, rebuilding it from the items", shardNumber, e.getKey(), ex);
            }
        }
        Map<String, List<IndexedVector>> toBuild = new HashMap<>();
        Map<String, Set<String>> live = new HashMap<>();
        long reconciled = 0;
        for (Map.Entry<String, ShardItem> e : items.entries()) {
            for (Map.Entry<String, VersionedVector> v : e.getValue().getVersions().entrySet()) {
                String version = v.getKey();
                VersionedVector vv = v.getValue();
                ShardVectorIndex index = fromSnapshot.get(version);
                if (index == null) {
                    toBuild.computeIfAbsent(version, k -> new ArrayList<>())
                            .add(new IndexedVector(e.getKey(), AvroVectors.fromBytes(vv.getVector()), vv.getSeq()));
                } else {
                    live.computeIfAbsent(version, k -> new HashSet<>()).add(e.getKey());
                    if (index.version(e.getKey()) != vv.getSeq()) {
                        index.upsert(e.getKey(), AvroVectors.fromBytes(vv.getVector()), vv.getSeq());
                        reconciled++;
                    }
                }
            }
        }
        for (Map.Entry<String, ShardVectorIndex> e : fromSnapshot.entrySet()) {
            Set<String> liveIds = live.getOrDefault(e.getKey(), Collections.emptySet());
            List<String> gone = new ArrayList<>();
            e.getValue().forEachItem((id, version) -> {
                if (!liveIds.contains(id)) {
                    gone.add(id);
                }
            });
            for (String id : gone) {
                e.getValue().remove(id, nextSequence());
                reconciled++;
            }
            if (e.getValue().size() > 0) {
                shard.put(e.getKey(), e.getValue());
            }
        }
        for (Map.Entry<String, List<IndexedVector>> e : toBuild.entrySet()) {
            int dimension = e.getValue().get(0).vector().length;
            shard.put(e.getKey(), ShardVectorIndex.build(dimension, settings.indexParams(), e.getValue(),
                    settings.effectiveRebuildThreads()));
        }
        shard.dirty = reconciled > 0 || !toBuild.isEmpty();
        shard.restoreMillis = (System.nanoTime() - start) / 1_000_000;
        loaded.put(shardNumber, shard);
        LOG.info("shard {}: indexes ready in {} ms ({} from snapshot, {} rebuilt, {} entries reconciled): {}", shardNumber,
                shard.restoreMillis, fromSnapshot.size(), toBuild.size(), reconciled, shard.sizes());
        return shard;
    }

    private ShardVectorIndex readSnapshot(String version, int chunks) throws Exception {
        List<InputStream> parts = new ArrayList<>(chunks);
        for (int i = 0; i < chunks; i++) {
            byte[] chunk = snapshotChunks.get(chunkKey(version, i));
            if (chunk == null) {
                throw new IOException("chunk " + i + " of " + chunks + " missing");
            }
            parts.add(new java.io.ByteArrayInputStream(chunk));
        }
        return IndexSnapshotCodec.readAll(new SequenceInputStream(Collections.enumeration(parts)), settings.indexParams());
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
        if (settings.snapshotIntervalMs() > 0 && shard.dirty) {
            writeSnapshots(shard);
        }
    }

    /** Writes every version's index of the shard into keyed state, replacing the previous snapshot. */
    void writeSnapshots(LoadedShard shard) throws Exception {
        long start = System.nanoTime();
        long bytes = 0;
        for (Map.Entry<String, ShardVectorIndex> e : shard.indexes.entrySet()) {
            byte[] all = IndexSnapshotCodec.toBytes(e.getValue());
            bytes += all.length;
            int chunks = Math.max(1, (all.length + SNAPSHOT_CHUNK_BYTES - 1) / SNAPSHOT_CHUNK_BYTES);
            for (int i = 0; i < chunks; i++) {
                int from = i * SNAPSHOT_CHUNK_BYTES;
                snapshotChunks.put(chunkKey(e.getKey(), i), Arrays.copyOfRange(all, from, Math.min(all.length, from + SNAPSHOT_CHUNK_BYTES)));
            }
            Integer previous = snapshotSizes.get(e.getKey());
            for (int i = chunks; previous != null && i < previous; i++) {
                snapshotChunks.remove(chunkKey(e.getKey(), i));
            }
            snapshotSizes.put(e.getKey(), chunks);
        }
        List<String> stale = new ArrayList<>();
        for (String version : snapshotSizes.keys()) {
            if (!shard.indexes.containsKey(version)) {
                stale.add(version);
            }
        }
        for (String version : stale) {
            dropSnapshot(version, snapshotSizes, snapshotChunks);
        }
        shard.dirty = false;
        shard.snapshotMillis = (System.nanoTime() - start) / 1_000_000;
        shard.snapshotBytes = bytes;
        LOG.info("shard {}: snapshot written, {} bytes in {} ms", shard.number, bytes, shard.snapshotMillis);
    }

    private static void dropSnapshot(String version, MapState<String, Integer> sizes, MapState<String, byte[]> chunks) throws Exception {
        Integer n = sizes.get(version);
        for (int i = 0; n != null && i < n; i++) {
            chunks.remove(chunkKey(version, i));
        }
        sizes.remove(version);
    }

    static String chunkKey(String version, int chunk) {
        return version + "#" + chunk;
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
        // The backend sets each shard as the current key while it applies the function, so the chunk state below
        // is that shard's.
        ctx.applyToKeyedState(SNAPSHOT_SIZES, (shard, sizes) -> dropSnapshot(retired, sizes, snapshotChunks));
        for (LoadedShard shard : loaded.values()) {
            ShardVectorIndex dropped = shard.indexes.remove(retired);
            if (dropped != null) {
                dropped.cancelCompaction();
            }
        }
        LOG.info("model version {} retired: its indexes and item vectors are dropped", retired);
    }

    /** One shard's heap side: its indexes by model version, and its metrics. */
    static final class LoadedShard {
        final int number;
        // concurrent: metric gauges read it from the reporter thread
        final Map<String, ShardVectorIndex> indexes = new ConcurrentHashMap<>();
        final MetricGroup group;
        final Set<String> versionsWithGauge = new HashSet<>();
        final IndexParams params;
        final ExecutorService compactions;
        final Counter itemUpdates;
        final Counter staleUpdates;
        final Counter recallComputations;
        final Counter dimensionMismatches;
        final Histogram recallLatencyMicros;
        /** The heap index changed since the shard's last snapshot (read by a metric thread). */
        volatile boolean dirty;
        volatile long restoreMillis;
        volatile long snapshotMillis;
        volatile long snapshotBytes;

        LoadedShard(int number, MetricGroup group, IndexParams params, ExecutorService compactions) {
            this.number = number;
            this.group = group;
            this.params = params;
            this.compactions = compactions;
            itemUpdates = group.counter("itemUpdates");
            staleUpdates = group.counter("staleItemUpdates");
            recallComputations = group.counter("recallComputations");
            dimensionMismatches = group.counter("dimensionMismatches");
            recallLatencyMicros = group.histogram("recallLatencyMicros", new DescriptiveStatisticsHistogram(1000));
            group.gauge("restoreMillis", () -> restoreMillis);
            group.gauge("snapshotMillis", () -> snapshotMillis);
            group.gauge("snapshotBytes", () -> snapshotBytes);
            group.gauge("snapshotCurrent", () -> dirty ? 0 : 1);
            group.gauge("compactions", () -> indexes.values().stream().mapToLong(ShardVectorIndex::compactionCount).sum());
        }

        ShardVectorIndex indexFor(String version, int dimension) {
            ShardVectorIndex index = indexes.get(version);
            if (index == null) {
                index = new ShardVectorIndex(dimension, params);
                put(version, index);
            }
            return index;
        }

        /** Adds (or replaces) a version's index and publishes its item count. */
        void put(String version, ShardVectorIndex index) {
            index.compactInBackground(compactions);
            ShardVectorIndex replaced = indexes.put(version, index);
            if (replaced != null && replaced != index) {
                replaced.cancelCompaction();
            }
            if (versionsWithGauge.add(version)) {
                group.addGroup("version", version).gauge("items", () -> {
                    ShardVectorIndex i = indexes.get(version);
                    return i == null ? 0 : i.size();
                });
            }
        }

        Map<String, Integer> sizes() {
            Map<String, Integer> s = new HashMap<>();
            indexes.forEach((v, i) -> s.put(v, i.size()));
            return s;
        }
    }
}
