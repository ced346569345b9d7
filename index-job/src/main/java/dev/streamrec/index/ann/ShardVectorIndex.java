package dev.streamrec.index.ann;

import java.io.DataInput;
import java.io.DataOutput;
import java.io.IOException;
import java.io.StreamCorruptedException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.function.ObjLongConsumer;
import java.util.function.Predicate;

import com.github.jelmerk.hnswlib.core.NullProgressListener;
import com.github.jelmerk.hnswlib.core.ObjectSerializer;
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
 * executor instead, from a copy of the live items' list (items are immutable) into a new graph, while this index
 * keeps serving and updating the old graph; updates made meanwhile are logged and replayed on the new graph (mostly
 * by the background task itself), and the next call on this index after the rebuild finishes swaps the graphs. The
 * old and the new graph are both in memory until then.
 *
 * <p>Not thread-safe: meant to be used by one thread (one Flink operator). hnswlib's own locks are uncontended then.
 */
public final class ShardVectorIndex {

    private static final int SNAPSHOT_MAGIC = 0x53565831; // "SVX1"
    private static final int SNAPSHOT_FORMAT = 1;
    private static final int MAX_ID_LENGTH = 16_384;

    private final int dimension;
    private final IndexParams params;
    private Graph graph;
    private long compactions;
    private Executor compactionExecutor;
    private Compaction pending;

    public ShardVectorIndex(int dimension, IndexParams params) {
        this(dimension, params, new Graph(dimension, params, params.initialCapacity()));
    }

    private ShardVectorIndex(int dimension, IndexParams params, Graph graph) {
        if (dimension < 1) {
            throw new IllegalArgumentException("dimension must be positive: " + dimension);
        }
        this.dimension = dimension;
        this.params = params;
        this.graph = graph;
    }

    public int dimension() {
        return dimension;
    }

    public IndexParams params() {
        return params;
    }

    /** Live items. */
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
     * Inserts the item or replaces its vector (stored as a unit-length copy).
     *
     * @return false when ignored because {@code version} is lower than the item's current version or its delete's
     * @throws IllegalArgumentException for a null/empty/overlong id, a vector of another dimension, with NaN or
     *                                  infinite values, or of zero length
     */
    public boolean upsert(String itemId, float[] vector, long version) {
        checkId(itemId);
        float[] unit = VectorMath.unitCopy(vector, dimension);
        if (unit == null) {
            throw new IllegalArgumentException("zero vector for item " + itemId);
        }
        IndexItem item = new IndexItem(itemId, unit, version);
        finishCompactionIfDone();
        boolean added = graph.upsert(item);
        if (added) {
            if (pending != null) {
                pending.log.add(new Op(item, null, 0));
            } else {
                maybeCompact();
            }
        }
        return added;
    }

    /**
     * Removes the item; it is never returned by a search afterwards.
     *
     * @return false when the item is absent or has a higher version than {@code version}
     */
    public boolean remove(String itemId, long version) {
        finishCompactionIfDone();
        boolean removed = graph.hnsw.remove(itemId, version);
        if (removed) {
            if (pending != null) {
                pending.log.add(new Op(null, itemId, version));
            } else {
                maybeCompact();
            }
        }
        return removed;
    }

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
     * The {@code k} live items most similar to {@code query} (cosine), best first, skipping ids {@code exclude}
     * accepts (they do not count toward {@code k}: the search asks for more internally). Approximate: the effective
     * HNSW ef is {@code max(ef, k)}. A zero query has no direction and returns an empty list.
     *
     * @param exclude ids to leave out, or null
     */
    public List<Neighbor> search(float[] query, int k, Predicate<String> exclude) {
        float[] q = VectorMath.unitCopy(query, dimension);
        finishCompactionIfDone();
        HnswIndex<String, float[], IndexItem, Float> hnsw = graph.hnsw;
        int live = hnsw.size();
        if (k <= 0 || live == 0 || q == null) {
            return List.of();
        }
        int want = exclude == null ? k : Math.max(k + 8, Math.min(2 * k, params.ef()));
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
        Graph fresh = new Graph(dimension, params, capacityFor(params, live.size()));
        fresh.addAll(live, threads);
        graph = fresh;
        compactions++;
    }

    /** Waits for a running background compaction, if any, and switches to its graph. */
    public void awaitCompaction() {
        if (pending != null) {
            try {
                pending.done.join();
            } catch (CompletionException e) {
                // reported by finishCompaction
            }
            finishCompaction();
        }
    }

    /**
     * Abandons a running background compaction (e.g. when the operator closes): the task stops at its next item and
     * this index keeps its current graph.
     */
    public void cancelCompaction() {
        if (pending != null) {
            pending.cancelled = true;
            pending = null;
        }
    }

    private void maybeCompact() {
        int deleted = graph.deleted();
        if (params.compactionThreshold() < 1.0 && deleted >= params.compactionMinDeleted()
                && deleted > params.compactionThreshold() * graph.nodes) {
            if (compactionExecutor == null || !startCompaction(compactionExecutor)) {
                compact(params.compactionThreads());
            }
        }
    }

    private boolean startCompaction(Executor executor) {
        List<IndexItem> live = new ArrayList<>(graph.hnsw.items());
        Compaction c = new Compaction(System.nanoTime());
        int dim = dimension;
        IndexParams p = params;
        try {
            c.done = CompletableFuture.supplyAsync(() -> {
                Graph fresh = new Graph(dim, p, capacityFor(p, live.size()));
                for (IndexItem item : live) {
                    if (c.cancelled) {
                        return null;
                    }
                    fresh.hnsw.add(item);
                }
                fresh.nodes = live.size();
                // catch up with the updates made meanwhile; the owner replays whatever is logged after this
                for (Op op = c.log.poll(); op != null && !c.cancelled; op = c.log.poll()) {
                    op.applyTo(fresh);
                }
                return fresh;
            }, executor);
        } catch (RejectedExecutionException e) {
            return false;
        }
        pending = c;
        return true;
    }

    private void finishCompactionIfDone() {
        if (pending != null && pending.done.isDone()) {
            finishCompaction();
        }
    }

    private void finishCompaction() {
        Compaction c = pending;
        pending = null;
        Graph fresh;
        try {
            fresh = c.done.join();
        } catch (CompletionException e) {
            throw new IllegalStateException("background compaction failed; the index keeps its previous graph", e.getCause());
        }
        for (Op op = c.log.poll(); op != null; op = c.log.poll()) {
            op.applyTo(fresh);
        }
        graph = fresh;
        compactions++;
    }

    static int capacityFor(IndexParams params, int items) {
        return (int) Math.min(Integer.MAX_VALUE - 8,
                Math.max(params.initialCapacity(), (long) Math.ceil(items * params.growthFactor())));
    }

    /**
     * Builds an index from scratch, with {@code threads} threads (hnswlib's parallel insert). Of several entries for
     * one id the one with the highest version wins (the last one on a tie).
     */
    public static ShardVectorIndex build(int dimension, IndexParams params, Collection<IndexedVector> items, int threads) {
        Map<String, IndexItem> byId = new HashMap<>(Math.max(16, (int) (items.size() / 0.75f) + 1));
        for (IndexedVector v : items) {
            checkId(v.itemId());
            float[] unit = VectorMath.unitCopy(v.vector(), dimension);
            if (unit == null) {
                throw new IllegalArgumentException("zero vector for item " + v.itemId());
            }
            IndexItem prev = byId.get(v.itemId());
            if (prev == null || prev.version <= v.version()) {
                byId.put(v.itemId(), new IndexItem(v.itemId(), unit, v.version()));
            }
        }
        Graph graph = new Graph(dimension, params, capacityFor(params, byId.size()));
        graph.addAll(byId.values(), threads);
        return new ShardVectorIndex(dimension, params, graph);
    }

    /**
     * Writes the whole index (graph included, so loading it needs no rebuild) in a compact binary form: a small header,
     * then hnswlib's own stream (its custom writeObject: ints for the links, {@link ItemCodec} records for the items)
     * in length-prefixed frames. Writes the graph in use (a background compaction's new graph is not in use yet).
     */
    public void writeSnapshot(DataOutput out) throws IOException {
        finishCompactionIfDone();
        out.writeInt(SNAPSHOT_MAGIC);
        out.writeInt(SNAPSHOT_FORMAT);
        out.writeInt(dimension);
        out.writeInt(graph.nodes);
        try (Frames.Out frames = new Frames.Out(out)) {
            graph.hnsw.save(frames);
        }
    }

    /**
     * Reads a snapshot written by {@link #writeSnapshot}. The graph keeps the m and efConstruction it was built with;
     * the search ef and the capacity/compaction settings come from {@code params}.
     */
    public static ShardVectorIndex readSnapshot(DataInput in, IndexParams params) throws IOException {
        int magic = in.readInt();
        if (magic != SNAPSHOT_MAGIC) {
            throw new StreamCorruptedException("not a ShardVectorIndex snapshot (magic " + Integer.toHexString(magic) + ")");
        }
        int format = in.readInt();
        if (format != SNAPSHOT_FORMAT) {
            throw new StreamCorruptedException("unknown snapshot format " + format);
        }
        int dimension = in.readInt();
        int nodes = in.readInt();
        HnswIndex<String, float[], IndexItem, Float> hnsw;
        try (Frames.In frames = new Frames.In(in)) {
            hnsw = HnswIndex.load(frames, ShardVectorIndex.class.getClassLoader());
        } catch (IllegalArgumentException | ClassCastException e) {
            throw new IOException("cannot read the index snapshot", e);
        }
        if (hnsw.getDimensions() != dimension) {
            throw new StreamCorruptedException("snapshot dimension " + hnsw.getDimensions() + " != header " + dimension);
        }
        if (!((Object) hnsw.getItemSerializer() instanceof ItemCodec codec)) {
            throw new StreamCorruptedException("snapshot was not written by ShardVectorIndex");
        }
        codec.endRead();
        hnsw.setEf(params.ef());
        Graph graph = new Graph(params, hnsw);
        graph.nodes = nodes;
        return new ShardVectorIndex(dimension, params, graph);
    }

    private static void checkId(String itemId) {
        if (itemId == null || itemId.isEmpty() || itemId.length() > MAX_ID_LENGTH) {
            throw new IllegalArgumentException("item id must be 1 to " + MAX_ID_LENGTH + " characters");
        }
    }

    @Override
    public String toString() {
        return "ShardVectorIndex{dimension=" + dimension + ", size=" + size() + ", nodes=" + graph.nodes + ", capacity="
                + capacity() + (pending != null ? ", compacting" : "") + "}";
    }

    /** An hnswlib graph and its node count (hnswlib does not expose it). Used by one thread at a time. */
    private static final class Graph {
        final IndexParams params;
        final HnswIndex<String, float[], IndexItem, Float> hnsw;
        /** Nodes in the graph, live and deleted. */
        int nodes;

        Graph(int dimension, IndexParams params, int capacity) {
            this(params, newHnsw(dimension, params, capacity));
        }

        Graph(IndexParams params, HnswIndex<String, float[], IndexItem, Float> hnsw) {
            this.params = params;
            this.hnsw = hnsw;
        }

        @SuppressWarnings({"unchecked", "rawtypes"})
        private static HnswIndex<String, float[], IndexItem, Float> newHnsw(int dimension, IndexParams params, int capacity) {
            ItemCodec codec = new ItemCodec(dimension);
            return HnswIndex.newBuilder(dimension, NegativeDotDistance.INSTANCE, capacity)
                    .withM(params.m())
                    .withEfConstruction(params.efConstruction())
                    .withEf(params.ef())
                    .withRemoveEnabled()
                    .withCustomSerializers((ObjectSerializer<String>) (ObjectSerializer) codec,
                            (ObjectSerializer<IndexItem>) (ObjectSerializer) codec)
                    .build();
        }

        int deleted() {
            return nodes - hnsw.size();
        }

        boolean upsert(IndexItem item) {
            Optional<IndexItem> current = hnsw.get(item.id);
            boolean newNode = true;
            if (current.isPresent()) {
                IndexItem cur = current.get();
                if (item.version < cur.version) {
                    return false;
                }
                newNode = !Arrays.equals(cur.vector, item.vector);
            }
            if (newNode && nodes >= hnsw.getMaxItemCount()) {
                int cap = hnsw.getMaxItemCount();
                hnsw.resize((int) Math.min(Integer.MAX_VALUE - 8,
                        Math.max(cap + 1L, (long) Math.ceil(cap * params.growthFactor()))));
            }
            boolean added = hnsw.add(item);
            if (added && newNode) {
                nodes++;
            }
            return added;
        }

        /** Adds items with distinct ids to this fresh graph. */
        void addAll(Collection<IndexItem> items, int threads) {
            if (threads <= 1 || items.size() < 1000) {
                for (IndexItem item : items) {
                    hnsw.add(item);
                }
            } else {
                try {
                    hnsw.addAll(items, threads, NullProgressListener.INSTANCE, Integer.MAX_VALUE);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IllegalStateException("interrupted while building the index", e);
                }
            }
            nodes += items.size();
        }
    }

    /** An update made while a background compaction ran: an upsert ({@code item} set) or a remove. */
    private record Op(IndexItem item, String removeId, long removeVersion) {
        void applyTo(Graph g) {
            if (item != null) {
                g.upsert(item);
            } else {
                g.hnsw.remove(removeId, removeVersion);
            }
        }
    }

    private static final class Compaction {
        final long startNanos;
        final ConcurrentLinkedQueue<Op> log = new ConcurrentLinkedQueue<>();
        volatile boolean cancelled;
        CompletableFuture<Graph> done;

        Compaction(long startNanos) {
            this.startNanos = startNanos;
        }
    }
}
