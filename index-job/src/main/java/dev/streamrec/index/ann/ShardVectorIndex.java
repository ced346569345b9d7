package dev.streamrec.index.ann;

import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Executor;
import java.util.function.ObjLongConsumer;
import java.util.function.Predicate;

import com.github.jelmerk.hnswlib.core.SearchResult;
import com.github.jelmerk.hnswlib.core.hnsw.HnswIndex;

/**
 * One HNSW index (hnswlib-core) over one shard's items of ONE model version.
 *
 * <p>Vectors are stored unit-normalised and compared by inner product, so scores are cosine similarities. Each
 * item carries the version of the update that set it; the caller applies updates of an item in increasing version
 * order (an update with a lower version than the item's current one, or than its delete, is ignored).
 *
 * <p>hnswlib only marks removed items deleted: their nodes stay in the graph (still used for routing, never
 * returned) and keep occupying capacity, and replacing an item's vector also leaves its old node behind. This class
 * grows the capacity when it is full and rebuilds the graph from the live items ("compaction") once deleted nodes
 * exceed {@link IndexParams#compactionThreshold()} of all nodes. Compaction forgets the versions of deleted items,
 * so an update older than a delete that happened before the compaction would be accepted again: the durable store
 * in front of this index is the authority on ordering.
 *
 * <p>Compaction rebuilds the whole graph, at the build rate (seconds per 10,000 items). By default it runs in the
 * calling thread, inside the update that triggered it. With {@link #compactInBackground(Executor)} it runs on that
 * executor instead ({@link BackgroundCompaction}), and the next call on this index after the rebuild finishes swaps
 * the graphs. The old and the new graph are both in memory until then. Snapshots: {@link IndexSnapshotCodec}.
 *
 * <p>Not thread-safe: meant to be used by one thread (one Flink operator). hnswlib's own locks are uncontended then.
 */
public final class ShardVectorIndex implements VectorIndex {

    private static final int MAX_ID_LENGTH = 16_384;

    private final int dimension;
    private final IndexParams params;
    private HnswGraph graph;
    private long compactions;
    private Executor compactionExecutor;
    private BackgroundCompaction pending;

    public ShardVectorIndex(int dimension, IndexParams params) {
        this(dimension, params, new HnswGraph(dimension, params, params.initialCapacity()));
    }

    ShardVectorIndex(int dimension, IndexParams params, HnswGraph graph) {
        if (dimension < 1) {
            throw new IllegalArgumentException("dimension must be positive: " + dimension);
        }
        this.dimension = dimension;
        this.params = params;
        this.graph = graph;
    }

    @Override
    public int dimension() {
        return dimension;
    }

    public IndexParams params() {
        return params;
    }

    @Override
    public int size() {
        return graph.hnsw.size();
    }

    /** Nodes in the graph, live and deleted (or replaced) ones. */
    public int nodeCount() {
        return graph.nodes;
    }

    /** Deleted (or replaced) nodes still in the graph; reset by compaction. */
    public int deletedNodeCount() {
        return graph.deleted();
    }

    /** Node slots currently allocated. */
    public int capacity() {
        return graph.hnsw.getMaxItemCount();
    }

    /** Compactions (graph rebuilds) completed so far, automatic or explicit. */
    public long compactionCount() {
        return compactions;
    }

    /** True while a background compaction runs (its graph is not in use yet). */
    public boolean compactionInProgress() {
        return pending != null;
    }

    /**
     * Runs automatic compactions on {@code executor} from now on (null: in the calling thread, the default). The
     * executor belongs to the caller (e.g. a single-thread executor the operator shuts down in {@code close()}).
     */
    public void compactInBackground(Executor executor) {
        this.compactionExecutor = executor;
    }

    /**
     * {@inheritDoc}
     *
     * <p>Also ignored when {@code version} is lower than the item's delete (until a compaction forgets it).
     *
     * @throws IllegalArgumentException also for a null, empty or overlong id
     */
    @Override
    public boolean upsert(String itemId, float[] vector, long version) {
        IndexItem item = indexItem(itemId, vector, version, dimension);
        finishCompactionIfDone();
        boolean added = graph.upsert(item);
        if (added) {
            if (pending != null) {
                pending.logUpsert(item);
            } else {
                maybeCompact();
            }
        }
        return added;
    }

    @Override
    public boolean remove(String itemId, long version) {
        finishCompactionIfDone();
        boolean removed = graph.remove(itemId, version);
        if (removed) {
            if (pending != null) {
                pending.logRemove(itemId, version);
            } else {
                maybeCompact();
            }
        }
        return removed;
    }

    @Override
    public boolean contains(String itemId) {
        return graph.hnsw.get(itemId).isPresent();
    }

    /** The live item's version, or -1 when absent. */
    public long version(String itemId) {
        return graph.hnsw.get(itemId).map(i -> i.version).orElse(-1L);
    }

    /** A copy of the stored unit vector, or null when absent. */
    public float[] vector(String itemId) {
        return graph.hnsw.get(itemId).map(i -> i.vector.clone()).orElse(null);
    }

    /** Calls {@code idAndVersion} for every live item, in no particular order. */
    public void forEachItem(ObjLongConsumer<String> idAndVersion) {
        for (IndexItem item : graph.hnsw.items()) {
            idAndVersion.accept(item.id, item.version);
        }
    }

    /**
     * {@inheritDoc}
     *
     * <p>Approximate: the effective HNSW ef is {@code max(ef, k)}; with exclusions the search asks for more
     * internally ({@code max(k + 8, min(2k, ef))} results first, twice as many while that leaves fewer than k).
     */
    @Override
    public List<Neighbor> search(float[] query, int k, Predicate<String> exclude) {
        return search(query, k, exclude, exclude == null ? k : Math.max(k + 8, Math.min(2 * k, params.ef())));
    }

    /**
     * {@inheritDoc}
     *
     * <p>The first ask is {@code k} plus the excluded items this index holds (one hash lookup per excluded id), so
     * the graph's answer has k others even when every excluded item is among the nearest; an index holding none of
     * them searches without a filter.
     */
    @Override
    public List<Neighbor> searchExcluding(float[] query, int k, Set<String> excluded) {
        finishCompactionIfDone();
        int held = 0;
        for (String id : excluded) {
            if (graph.hnsw.get(id).isPresent()) {
                held++;
            }
        }
        return held == 0 ? search(query, k, null, k) : search(query, k, excluded::contains, k + held);
    }

    /** The search, asking the graph for {@code firstAsk} results first (more while exclusions leave fewer than k). */
    private List<Neighbor> search(float[] query, int k, Predicate<String> exclude, int firstAsk) {
        float[] q = VectorMath.unitCopy(query, dimension);
        finishCompactionIfDone();
        HnswIndex<String, float[], IndexItem, Float> hnsw = graph.hnsw;
        int live = hnsw.size();
        if (k <= 0 || live == 0 || q == null) {
            return List.of();
        }
        int want = firstAsk;
        while (true) {
            want = Math.min(want, live);
            List<SearchResult<IndexItem, Float>> found = hnsw.findNearest(q, want);
            List<Neighbor> out = new ArrayList<>(Math.min(k, found.size()));
            for (SearchResult<IndexItem, Float> r : found) {
                String id = r.item().id;
                if (exclude != null && exclude.test(id)) {
                    continue;
                }
                out.add(new Neighbor(id, -r.distance()));
                if (out.size() == k) {
                    break;
                }
            }
            if (out.size() == k || found.size() < want || want >= live) {
                return out;
            }
            want = (int) Math.min((long) want * 2, live);
        }
    }

    /**
     * Rebuilds the graph from the live items now, in the calling thread with {@code threads} threads, dropping deleted
     * nodes (and deleted items' versions). If a background compaction is running, waits for it instead.
     */
    public void compact(int threads) {
        if (pending != null) {
            awaitCompaction();
            return;
        }
        Collection<IndexItem> live = graph.hnsw.items();
        HnswGraph fresh = HnswGraph.sizedFor(dimension, params, live.size());
        fresh.addAll(live, threads);
        graph = fresh;
        compactions++;
    }

    /** Waits for a running background compaction, if any, and switches to its graph. */
    public void awaitCompaction() {
        if (pending != null) {
            pending.await();
            finishCompaction();
        }
    }

    /**
     * Abandons a running background compaction (e.g. when the operator closes): the task stops at its next item and
     * this index keeps its current graph.
     */
    public void cancelCompaction() {
        if (pending != null) {
            pending.cancel();
            pending = null;
        }
    }

    private void maybeCompact() {
        int deleted = graph.deleted();
        if (params.compactionThreshold() < 1.0 && deleted >= params.compactionMinDeleted()
                && deleted > params.compactionThreshold() * graph.nodes) {
            if (compactionExecutor != null) {
                pending = BackgroundCompaction.start(new ArrayList<>(graph.hnsw.items()), dimension, params, compactionExecutor);
            }
            if (pending == null) { // no executor, or it refused the task
                compact(params.compactionThreads());
            }
        }
    }

    private void finishCompactionIfDone() {
        if (pending != null && pending.isDone()) {
            finishCompaction();
        }
    }

    private void finishCompaction() {
        BackgroundCompaction c = pending;
        pending = null;
        graph = c.finish();
        compactions++;
    }

    /** The graph searches use now, after swapping in a finished background compaction: what a snapshot holds. */
    HnswGraph graphInUse() {
        finishCompactionIfDone();
        return graph;
    }

    /**
     * Builds an index from scratch, with {@code threads} threads (hnswlib's parallel insert). Of several entries for
     * one id the one with the highest version wins (the last one on a tie).
     */
    public static ShardVectorIndex build(int dimension, IndexParams params, Collection<IndexedVector> items, int threads) {
        Map<String, IndexItem> byId = new HashMap<>(Math.max(16, (int) (items.size() / 0.75f) + 1));
        for (IndexedVector v : items) {
            IndexItem item = indexItem(v.itemId(), v.vector(), v.version(), dimension);
            IndexItem prev = byId.get(item.id);
            if (prev == null || prev.version <= item.version) {
                byId.put(item.id, item);
            }
        }
        HnswGraph graph = HnswGraph.sizedFor(dimension, params, byId.size());
        graph.addAll(byId.values(), threads);
        return new ShardVectorIndex(dimension, params, graph);
    }

    /** Checks the id and the vector, and keeps a unit-length copy. */
    private static IndexItem indexItem(String itemId, float[] vector, long version, int dimension) {
        if (itemId == null || itemId.isEmpty() || itemId.length() > MAX_ID_LENGTH) {
            throw new IllegalArgumentException("item id must be 1 to " + MAX_ID_LENGTH + " characters");
        }
        float[] unit = VectorMath.unitCopy(vector, dimension);
        if (unit == null) {
            throw new IllegalArgumentException("zero vector for item " + itemId);
        }
        return new IndexItem(itemId, unit, version);
    }

    @Override
    public String toString() {
        return "ShardVectorIndex{dimension=" + dimension + ", size=" + size() + ", nodes=" + graph.nodes + ", capacity="
                + capacity() + (pending != null ? ", compacting" : "") + "}";
    }
}
