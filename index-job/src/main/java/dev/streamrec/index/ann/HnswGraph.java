package dev.streamrec.index.ann;

import java.util.Arrays;
import java.util.Collection;
import java.util.Optional;

import com.github.jelmerk.hnswlib.core.NullProgressListener;
import com.github.jelmerk.hnswlib.core.ObjectSerializer;
import com.github.jelmerk.hnswlib.core.hnsw.HnswIndex;

/**
 * One hnswlib graph and its node count, live and deleted (hnswlib does not expose it). Used by one thread at a time:
 * the index that serves from it, or the background compaction building it.
 */
final class HnswGraph {
    final IndexParams params;
    final HnswIndex<String, float[], IndexItem, Float> hnsw;
    /** Nodes in the graph, live and deleted. */
    int nodes;

    HnswGraph(int dimension, IndexParams params, int capacity) {
        this(params, newHnsw(dimension, params, capacity));
    }

    HnswGraph(IndexParams params, HnswIndex<String, float[], IndexItem, Float> hnsw) {
        this.params = params;
        this.hnsw = hnsw;
    }

    /** An empty graph for {@code items} items with room to grow, as a build or a compaction starts one. */
    static HnswGraph sizedFor(int dimension, IndexParams params, int items) {
        int capacity = (int) Math.min(Integer.MAX_VALUE - 8,
                Math.max(params.initialCapacity(), (long) Math.ceil(items * params.growthFactor())));
        return new HnswGraph(dimension, params, capacity);
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

    /** Inserts or replaces the item (growing the capacity when full); false when an older version is ignored. */
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

    boolean remove(String itemId, long version) {
        return hnsw.remove(itemId, version);
    }

    /** Adds items with distinct ids to this fresh graph, with {@code threads} threads (hnswlib's parallel insert). */
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
