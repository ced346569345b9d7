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
 * <p>Not thread-safe: meant to be used by one thread (one Flink operator). hnswlib's own locks are uncontended then.
 */
public final class ShardVectorIndex {

    private static final int SNAPSHOT_MAGIC = 0x53565831; // "SVX1"
    private static final int SNAPSHOT_FORMAT = 1;
    private static final int MAX_ID_LENGTH = 16_384;

    private final int dimension;
    private final IndexParams params;
    private HnswIndex<String, float[], IndexItem, Float> hnsw;
    /** Nodes in the hnswlib graph, live and deleted (hnswlib does not expose its count). */
    private int nodes;
    private long compactions;
    private long lastCompactionNanos;

    public ShardVectorIndex(int dimension, IndexParams params) {
        this(dimension, params, newHnsw(dimension, params, params.initialCapacity()));
    }

    private ShardVectorIndex(int dimension, IndexParams params, HnswIndex<String, float[], IndexItem, Float> hnsw) {
        if (dimension < 1) {
            throw new IllegalArgumentException("dimension must be positive: " + dimension);
        }
        this.dimension = dimension;
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

    public int dimension() {
        return dimension;
    }

    public IndexParams params() {
        return params;
    }

    /** Live items. */
    public int size() {
        return hnsw.size();
    }

    /** Nodes in the graph, live and deleted (or replaced) ones. */
    public int nodeCount() {
        return nodes;
    }

    /** Deleted (or replaced) nodes still in the graph; reset by compaction. */
    public int deletedNodeCount() {
        return nodes - hnsw.size();
    }

    /** Node slots currently allocated. */
    public int capacity() {
        return hnsw.getMaxItemCount();
    }

    /** Compactions (graph rebuilds) so far, automatic or explicit. */
    public long compactionCount() {
        return compactions;
    }

    /** Duration of the last compaction in nanoseconds (0 if none). */
    public long lastCompactionNanos() {
        return lastCompactionNanos;
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
        float[] unit = Vectors.unitCopy(vector, dimension);
        if (unit == null) {
            throw new IllegalArgumentException("zero vector for item " + itemId);
        }
        Optional<IndexItem> current = hnsw.get(itemId);
        boolean newNode = true;
        if (current.isPresent()) {
            IndexItem cur = current.get();
            if (version < cur.version) {
                return false;
            }
            newNode = !Arrays.equals(cur.vector, unit);
        }
        if (newNode && nodes >= hnsw.getMaxItemCount()) {
            grow();
        }
        boolean added = hnsw.add(new IndexItem(itemId, unit, version));
        if (added && newNode) {
            nodes++;
            maybeCompact();
        }
        return added;
    }

    /**
     * Removes the item; it is never returned by a search afterwards.
     *
     * @return false when the item is absent or has a higher version than {@code version}
     */
    public boolean remove(String itemId, long version) {
        boolean removed = hnsw.remove(itemId, version);
        if (removed) {
            maybeCompact();
        }
        return removed;
    }

    public boolean contains(String itemId) {
        return hnsw.get(itemId).isPresent();
    }

    /** The live item's version, or -1 when absent. */
    public long version(String itemId) {
        return hnsw.get(itemId).map(i -> i.version).orElse(-1L);
    }

    /** A copy of the stored unit vector, or null when absent. */
    public float[] vector(String itemId) {
        return hnsw.get(itemId).map(i -> i.vector.clone()).orElse(null);
    }

    /** Calls {@code idAndVersion} for every live item, in no particular order. */
    public void forEachItem(ObjLongConsumer<String> idAndVersion) {
        for (IndexItem item : hnsw.items()) {
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
        int live = hnsw.size();
        if (k <= 0 || live == 0) {
            return List.of();
        }
        float[] q = Vectors.unitCopy(query, dimension);
        if (q == null) {
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

    /** Rebuilds the graph from the live items now, dropping deleted nodes (and deleted items' versions). */
    public void compact(int threads) {
        long start = System.nanoTime();
        Collection<IndexItem> live = hnsw.items();
        HnswIndex<String, float[], IndexItem, Float> fresh = newHnsw(dimension, params, capacityFor(live.size()));
        addAll(fresh, live, threads);
        hnsw = fresh;
        nodes = live.size();
        compactions++;
        lastCompactionNanos = System.nanoTime() - start;
    }

    private void maybeCompact() {
        int deleted = deletedNodeCount();
        if (params.compactionThreshold() < 1.0 && deleted >= params.compactionMinDeleted()
                && deleted > params.compactionThreshold() * nodes) {
            compact(params.compactionThreads());
        }
    }

    private void grow() {
        int cap = hnsw.getMaxItemCount();
        hnsw.resize((int) Math.min(Integer.MAX_VALUE - 8, Math.max(cap + 1L, (long) Math.ceil(cap * params.growthFactor()))));
    }

    private int capacityFor(int items) {
        return (int) Math.min(Integer.MAX_VALUE - 8,
                Math.max(params.initialCapacity(), (long) Math.ceil(items * params.growthFactor())));
    }

    private static void addAll(HnswIndex<String, float[], IndexItem, Float> index, Collection<IndexItem> items, int threads) {
        if (threads <= 1 || items.size() < 1000) {
            for (IndexItem item : items) {
                index.add(item);
            }
            return;
        }
        try {
            index.addAll(items, threads, NullProgressListener.INSTANCE, Integer.MAX_VALUE);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while building the index", e);
        }
    }

    /**
     * Builds an index from scratch, with {@code threads} threads (hnswlib's parallel insert). Of several entries for
     * one id the one with the highest version wins (the last one on a tie).
     */
    public static ShardVectorIndex build(int dimension, IndexParams params, Collection<IndexedVector> items, int threads) {
        Map<String, IndexItem> byId = new HashMap<>(Math.max(16, (int) (items.size() / 0.75f) + 1));
        for (IndexedVector v : items) {
            checkId(v.itemId());
            float[] unit = Vectors.unitCopy(v.vector(), dimension);
            if (unit == null) {
                throw new IllegalArgumentException("zero vector for item " + v.itemId());
            }
            IndexItem prev = byId.get(v.itemId());
            if (prev == null || prev.version <= v.version()) {
                byId.put(v.itemId(), new IndexItem(v.itemId(), unit, v.version()));
            }
        }
        ShardVectorIndex index = new ShardVectorIndex(dimension, params, null);
        index.hnsw = newHnsw(dimension, params, index.capacityFor(byId.size()));
        addAll(index.hnsw, byId.values(), threads);
        index.nodes = byId.size();
        return index;
    }

    /**
     * Writes the whole index (graph included, so loading it needs no rebuild) in a compact binary form: a small header,
     * then hnswlib's own stream (its custom writeObject: ints for the links, {@link ItemCodec} records for the items)
     * in length-prefixed frames. Do not modify the index while writing.
     */
    public void writeSnapshot(DataOutput out) throws IOException {
        out.writeInt(SNAPSHOT_MAGIC);
        out.writeInt(SNAPSHOT_FORMAT);
        out.writeInt(dimension);
        out.writeInt(nodes);
        try (Frames.Out frames = new Frames.Out(out)) {
            hnsw.save(frames);
        }
    }

    /**
     * Reads a snapshot written by {@link #writeSnapshot}. The graph keeps the m and efConstruction it was built with;
     * the search ef and the capacity/compaction settings come from {@code params}.
     */
    @SuppressWarnings("unchecked")
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
        } catch (IllegalArgumentException e) {
            throw new IOException("cannot read the index snapshot", e);
        }
        if (hnsw.getDimensions() != dimension) {
            throw new StreamCorruptedException("snapshot dimension " + hnsw.getDimensions() + " != header " + dimension);
        }
        ((ItemCodec) (Object) hnsw.getItemSerializer()).endRead();
        hnsw.setEf(params.ef());
        ShardVectorIndex index = new ShardVectorIndex(dimension, params, hnsw);
        index.nodes = nodes;
        return index;
    }

    private static void checkId(String itemId) {
        if (itemId == null || itemId.isEmpty() || itemId.length() > MAX_ID_LENGTH) {
            throw new IllegalArgumentException("item id must be 1 to " + MAX_ID_LENGTH + " characters");
        }
    }

    @Override
    public String toString() {
        return "ShardVectorIndex{dimension=" + dimension + ", size=" + size() + ", nodes=" + nodes + ", capacity="
                + capacity() + "}";
    }
}
