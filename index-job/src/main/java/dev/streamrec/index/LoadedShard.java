package dev.streamrec.index;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.function.LongSupplier;

import org.apache.flink.metrics.MetricGroup;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.streamrec.avro.RecallRequest;
import dev.streamrec.avro.ScoredItem;
import dev.streamrec.avro.ShardAnswer;
import dev.streamrec.avro.VersionedVector;
import dev.streamrec.index.ann.IndexParams;
import dev.streamrec.index.ann.IndexSnapshotCodec;
import dev.streamrec.index.ann.Neighbor;
import dev.streamrec.index.ann.ShardVectorIndex;

/**
 * One shard's heap side on this subtask: its HNSW index per model version, derived from the shard's items and kept
 * in step with them, and what is done with them: apply an item change, answer a query, write the snapshots, drop a
 * retired version. Used by the operator's task thread; the metric gauges read it from the reporter's thread.
 */
final class LoadedShard {
    private static final Logger LOG = LoggerFactory.getLogger(LoadedShard.class);

    private final int number;
    private final IndexParams params;
    /** Runs the indexes' compactions (the operator's pool). */
    private final Executor compactions;
    // concurrent: metric gauges read it from the reporter thread
    private final Map<String, ShardVectorIndex> indexes = new ConcurrentHashMap<>();
    private final LoadedShardMetrics metrics;
    /** The heap indexes changed since the shard's last snapshot. */
    private volatile boolean dirty;
    private volatile long restoreMillis;
    private volatile long snapshotMillis;
    private volatile long snapshotBytes;

    LoadedShard(int number, IndexParams params, Executor compactions, MetricGroup group) {
        this.number = number;
        this.params = params;
        this.compactions = compactions;
        this.metrics = new LoadedShardMetrics(group, this);
    }

    /** Takes the restorer's indexes: the shard's state after a restore (or, with no state yet, none). */
    void restored(ShardRestorer.Restored restored) {
        restored.indexes().forEach(this::put);
        dirty = restored.changed();
        restoreMillis = restored.millis();
    }

    /** Applies an item change the shard's items already hold to the indexes. */
    void apply(String itemId, ItemChanges.Change change, LongSupplier nextSequence) {
        for (String version : change.removed()) {
            ShardVectorIndex index = indexes.get(version);
            if (index != null) {
                index.remove(itemId, nextSequence.getAsLong());
            }
        }
        for (String version : change.upserted()) {
            VersionedVector v = change.item().getVersions().get(version);
            float[] vector = AvroVectors.fromBytes(v.getVector());
            indexFor(version, vector.length).upsert(itemId, vector, v.getSeq());
        }
        dirty = true;
        metrics.itemUpdates.inc();
    }

    /** Counts an item update that changes nothing: older than the state, or of a retired version. */
    void staleUpdate() {
        metrics.staleUpdates.inc();
    }

    /**
     * This shard's local top-K for the user vector and per i2i seed, from the index of the request's version only. The
     * user's seen items are candidates of neither channel, the trigger items not of i2i; each list is the best K
     * others this shard holds (the search asks for as many more as it holds excluded items), so the merge of the
     * shards' lists is the global top-K of the items not excluded.
     */
    ShardAnswer answer(RecallRequest query, int k, int i2iPerTrigger) {
        long start = System.nanoTime();
        ShardVectorIndex index = indexes.get(query.getModelVersion());
        List<ScoredItem> u2i = List.of();
        Map<String, List<ScoredItem>> i2i = new HashMap<>();
        if (index != null && index.size() > 0) {
            Set<String> seen = query.getSeenItems().isEmpty() ? Set.of() : new HashSet<>(query.getSeenItems());
            if (!AvroVectors.isEmpty(query.getUserVector())) {
                float[] userVector = AvroVectors.fromBytes(query.getUserVector());
                if (userVector.length == index.dimension()) {
                    u2i = scored(index.searchExcluding(userVector, k, seen));
                } else {
                    metrics.dimensionMismatches.inc();
                }
            }
            Set<String> excluded = new HashSet<>(query.getExcludedItems());
            excluded.addAll(seen);
            for (String seed : query.getTriggerItems()) {
                ByteBuffer bytes = query.getTriggerVectors().get(seed);
                if (bytes != null) {
                    float[] seedVector = AvroVectors.fromBytes(bytes);
                    if (seedVector.length == index.dimension()) {
                        i2i.put(seed, scored(index.searchExcluding(seedVector, i2iPerTrigger, excluded)));
                    }
                }
            }
        }
        metrics.recallComputations.inc();
        metrics.shardSearchMicros.update((System.nanoTime() - start) / 1000);
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

    /** Writes every version's index into the store, replacing the previous snapshots (a version with no index goes). */
    void writeSnapshots(ShardSnapshotStore store) throws Exception {
        long start = System.nanoTime();
        long bytes = 0;
        for (Map.Entry<String, ShardVectorIndex> e : indexes.entrySet()) {
            byte[] snapshot = IndexSnapshotCodec.toBytes(e.getValue());
            bytes += snapshot.length;
            store.write(e.getKey(), snapshot);
        }
        store.retainOnly(indexes.keySet());
        dirty = false;
        snapshotMillis = (System.nanoTime() - start) / 1_000_000;
        snapshotBytes = bytes;
        LOG.info("shard {}: snapshot written, {} bytes in {} ms", number, bytes, snapshotMillis);
    }

    /** Drops a retired version's index (its items and snapshot are dropped from state by the operator). */
    void retire(String version) {
        ShardVectorIndex dropped = indexes.remove(version);
        if (dropped != null) {
            dropped.cancelCompaction();
        }
    }

    /** Abandons the running compactions (the operator closes). */
    void close() {
        indexes.values().forEach(ShardVectorIndex::cancelCompaction);
    }

    boolean snapshotCurrent() {
        return !dirty;
    }

    long restoreMillis() {
        return restoreMillis;
    }

    long snapshotMillis() {
        return snapshotMillis;
    }

    long snapshotBytes() {
        return snapshotBytes;
    }

    /** Graph compactions completed by this shard's indexes (all versions). */
    long compactionCount() {
        return indexes.values().stream().mapToLong(ShardVectorIndex::compactionCount).sum();
    }

    /** The version's live items, 0 without an index. */
    int items(String version) {
        ShardVectorIndex index = indexes.get(version);
        return index == null ? 0 : index.size();
    }

    private ShardVectorIndex indexFor(String version, int dimension) {
        ShardVectorIndex index = indexes.get(version);
        if (index == null) {
            index = new ShardVectorIndex(dimension, params);
            put(version, index);
        }
        return index;
    }

    /** Adds (or replaces) a version's index, compacting in the background, and publishes its item count. */
    private void put(String version, ShardVectorIndex index) {
        index.compactInBackground(compactions);
        ShardVectorIndex replaced = indexes.put(version, index);
        if (replaced != null && replaced != index) {
            replaced.cancelCompaction();
        }
        metrics.versionAdded(version, this);
    }
}
