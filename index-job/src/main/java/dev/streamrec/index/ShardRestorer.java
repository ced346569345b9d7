package dev.streamrec.index;

import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.LongSupplier;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.streamrec.avro.ShardItem;
import dev.streamrec.avro.VersionedVector;
import dev.streamrec.index.ann.IndexParams;
import dev.streamrec.index.ann.IndexSnapshotCodec;
import dev.streamrec.index.ann.IndexedVector;
import dev.streamrec.index.ann.ShardVectorIndex;

/**
 * Brings a shard's heap indexes back from its durable state, after a restore: each version's snapshot is loaded,
 * then reconciled with the items (an entry whose sequence number differs from the item's is re-inserted, an entry
 * whose item no longer has that version is removed), and a version without a readable snapshot is rebuilt from the
 * items. The items are the source of truth; a snapshot only saves the rebuild.
 */
final class ShardRestorer {
    private static final Logger LOG = LoggerFactory.getLogger(ShardRestorer.class);

    /** Where the snapshots come from, by model version. */
    interface Snapshots {
        Collection<String> versions() throws Exception;

        InputStream open(String version) throws Exception;
    }

    /**
     * The restored indexes by version (a version with no live item has none), and what it took.
     *
     * @param changed the indexes differ from the snapshots (entries reconciled or versions rebuilt)
     */
    record Restored(Map<String, ShardVectorIndex> indexes, boolean changed, long millis) {}

    private final IndexParams params;
    private final int rebuildThreads;

    ShardRestorer(IndexParams params, int rebuildThreads) {
        this.params = params;
        this.rebuildThreads = rebuildThreads;
    }

    /**
     * @param items        the shard's items by id
     * @param nextSequence issues the version of each removal (the shard's update sequence, as for live deletes)
     */
    Restored restore(int shard, Iterable<Map.Entry<String, ShardItem>> items, Snapshots snapshots,
                     LongSupplier nextSequence) throws Exception {
        long start = System.nanoTime();
        Map<String, ShardVectorIndex> fromSnapshot = load(shard, snapshots);
        Map<String, List<IndexedVector>> toBuild = new HashMap<>();
        Map<String, Set<String>> live = new HashMap<>();
        long reconciled = 0;
        for (Map.Entry<String, ShardItem> e : items) {
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
        Map<String, ShardVectorIndex> indexes = new HashMap<>();
        for (Map.Entry<String, ShardVectorIndex> e : fromSnapshot.entrySet()) {
            reconciled += removeAllBut(e.getValue(), live.getOrDefault(e.getKey(), Collections.emptySet()), nextSequence);
            if (e.getValue().size() > 0) {
                indexes.put(e.getKey(), e.getValue());
            }
        }
        for (Map.Entry<String, List<IndexedVector>> e : toBuild.entrySet()) {
            int dimension = e.getValue().get(0).vector().length;
            indexes.put(e.getKey(), ShardVectorIndex.build(dimension, params, e.getValue(), rebuildThreads));
        }
        long millis = (System.nanoTime() - start) / 1_000_000;
        Map<String, Integer> sizes = new HashMap<>();
        indexes.forEach((v, i) -> sizes.put(v, i.size()));
        LOG.info("shard {}: indexes ready in {} ms ({} from snapshot, {} rebuilt, {} entries reconciled): {}", shard,
                millis, fromSnapshot.size(), toBuild.size(), reconciled, sizes);
        return new Restored(indexes, reconciled > 0 || !toBuild.isEmpty(), millis);
    }

    /** Every readable snapshot; an unreadable one is left out, so its version is rebuilt. */
    private Map<String, ShardVectorIndex> load(int shard, Snapshots snapshots) throws Exception {
        Map<String, ShardVectorIndex> loaded = new HashMap<>();
        for (String version : snapshots.versions()) {
            try (InputStream in = snapshots.open(version)) {
                loaded.put(version, IndexSnapshotCodec.readAll(in, params));
            } catch (IOException | RuntimeException e) {
                LOG.warn("shard {}: snapshot of version {} unreadable, rebuilding it from the items", shard, version, e);
            }
        }
        return loaded;
    }

    /** Removes the entries whose items are gone since the snapshot; returns how many. */
    private static long removeAllBut(ShardVectorIndex index, Set<String> liveIds, LongSupplier nextSequence) {
        List<String> gone = new ArrayList<>();
        index.forEachItem((id, version) -> {
            if (!liveIds.contains(id)) {
                gone.add(id);
            }
        });
        for (String id : gone) {
            index.remove(id, nextSequence.getAsLong());
        }
        return gone.size();
    }
}
