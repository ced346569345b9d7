package dev.streamrec.index.ann;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;

/**
 * Exact cosine top-k by scanning every vector: the independent reference for tests and benchmarks. Vectors are kept
 * unit-normalised in one flat array. A removed item is forgotten with its version (unlike in {@link ShardVectorIndex},
 * where its delete's version holds until a compaction). Not thread-safe.
 */
public final class BruteForceIndex implements VectorIndex {

    private final int dimension;
    private final Map<String, Integer> slotOf = new HashMap<>();
    private String[] ids;
    private long[] versions;
    private float[] flat;
    private int size;

    public BruteForceIndex(int dimension) {
        this(dimension, 1024);
    }

    public BruteForceIndex(int dimension, int initialCapacity) {
        if (dimension < 1) {
            throw new IllegalArgumentException("dimension must be positive: " + dimension);
        }
        this.dimension = dimension;
        int cap = Math.max(1, initialCapacity);
        ids = new String[cap];
        versions = new long[cap];
        flat = new float[cap * dimension];
    }

    @Override
    public int dimension() {
        return dimension;
    }

    @Override
    public int size() {
        return size;
    }

    @Override
    public boolean upsert(String itemId, float[] vector, long version) {
        float[] unit = VectorMath.unitCopy(vector, dimension);
        if (unit == null) {
            throw new IllegalArgumentException("zero vector for item " + itemId);
        }
        Integer slot = slotOf.get(itemId);
        if (slot == null) {
            if (size == ids.length) {
                int cap = Math.max(size + 1, (int) Math.min(Integer.MAX_VALUE / dimension, size * 2L));
                ids = Arrays.copyOf(ids, cap);
                versions = Arrays.copyOf(versions, cap);
                flat = Arrays.copyOf(flat, cap * dimension);
            }
            slot = size++;
            slotOf.put(itemId, slot);
            ids[slot] = itemId;
        } else if (version < versions[slot]) {
            return false;
        }
        versions[slot] = version;
        System.arraycopy(unit, 0, flat, slot * dimension, dimension);
        return true;
    }

    @Override
    public boolean remove(String itemId, long version) {
        Integer slot = slotOf.get(itemId);
        if (slot == null || version < versions[slot]) {
            return false;
        }
        slotOf.remove(itemId);
        int last = --size;
        if (slot != last) {
            ids[slot] = ids[last];
            versions[slot] = versions[last];
            System.arraycopy(flat, last * dimension, flat, slot * dimension, dimension);
            slotOf.put(ids[slot], slot);
        }
        ids[last] = null;
        return true;
    }

    @Override
    public boolean contains(String itemId) {
        return slotOf.containsKey(itemId);
    }

    /** {@inheritDoc} Exact; ties: smaller id first. */
    @Override
    public List<Neighbor> search(float[] query, int k, Predicate<String> exclude) {
        float[] q = VectorMath.unitCopy(query, dimension);
        if (k <= 0 || size == 0 || q == null) {
            return List.of();
        }
        int cap = Math.min(k, size);
        float[] hs = new float[cap];
        int[] hslot = new int[cap];
        int n = 0;
        for (int s = 0; s < size; s++) {
            float score = VectorMath.dot(q, flat, s * dimension);
            if (n == cap && !better(score, s, hs[0], hslot[0])) {
                continue;
            }
            if (exclude != null && exclude.test(ids[s])) {
                continue;
            }
            if (n < cap) {
                hs[n] = score;
                hslot[n] = s;
                siftUp(hs, hslot, n++);
            } else {
                hs[0] = score;
                hslot[0] = s;
                siftDown(hs, hslot, n);
            }
        }
        List<Neighbor> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            out.add(new Neighbor(ids[hslot[i]], hs[i]));
        }
        out.sort(TopK.BEST_FIRST);
        return out;
    }

    /** Heap order: the root is the worst kept candidate. */
    private boolean better(float score, int slot, float otherScore, int otherSlot) {
        return score > otherScore || (score == otherScore && ids[slot].compareTo(ids[otherSlot]) < 0);
    }

    private void siftUp(float[] hs, int[] hslot, int i) {
        while (i > 0) {
            int p = (i - 1) >>> 1;
            if (!better(hs[p], hslot[p], hs[i], hslot[i])) {
                break;
            }
            swap(hs, hslot, i, p);
            i = p;
        }
    }

    private void siftDown(float[] hs, int[] hslot, int n) {
        int i = 0;
        while (true) {
            int l = 2 * i + 1;
            if (l >= n) {
                break;
            }
            int worst = l;
            int r = l + 1;
            if (r < n && better(hs[l], hslot[l], hs[r], hslot[r])) {
                worst = r;
            }
            if (!better(hs[i], hslot[i], hs[worst], hslot[worst])) {
                break;
            }
            swap(hs, hslot, i, worst);
            i = worst;
        }
    }

    private static void swap(float[] hs, int[] hslot, int a, int b) {
        float t = hs[a];
        hs[a] = hs[b];
        hs[b] = t;
        int u = hslot[a];
        hslot[a] = hslot[b];
        hslot[b] = u;
    }
}
