package dev.streamrec.index.ann;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Deterministic synthetic embeddings: {@code clusters} random unit centroids in {@code dimension} dimensions; item
 * {@code i} is a centroid picked at random plus Gaussian noise of standard deviation {@code spread} per dimension.
 * Every item and query is a pure function of (seed, index), so any subset can be generated in any order, by any
 * process, with the same result. Item ids are {@code "i" + index}.
 *
 * <p>The defaults (256 clusters, spread 0.1 at 64 dimensions: noise of norm ~0.8 around unit centroids, so an item's
 * cosine to its centroid is ~0.78 and its nearest neighbours are mostly, not only, in its own cluster) give the
 * uneven density of real embeddings without making the search trivial.
 */
public final class ClusteredVectors {

    public static final int DEFAULT_CLUSTERS = 256;
    public static final double DEFAULT_SPREAD = 0.1;

    private static final long ITEM_STREAM = 0x1234_5678_9abc_def1L;
    private static final long QUERY_STREAM = 0x0fed_cba9_8765_4321L;

    private final long seed;
    private final int dimension;
    private final double spread;
    private final float[][] centroids;

    public ClusteredVectors(long seed, int dimension, int clusters, double spread) {
        if (dimension < 1 || clusters < 1 || !(spread >= 0)) {
            throw new IllegalArgumentException("dimension and clusters must be positive, spread non-negative");
        }
        this.seed = seed;
        this.dimension = dimension;
        this.spread = spread;
        SplittableRandom r = new SplittableRandom(seed);
        centroids = new float[clusters][];
        for (int c = 0; c < clusters; c++) {
            float[] v = new float[dimension];
            for (int d = 0; d < dimension; d++) {
                v[d] = (float) gaussian(r);
            }
            centroids[c] = VectorMath.unitCopy(v, dimension);
        }
    }

    /** {@link #DEFAULT_CLUSTERS} clusters with {@link #DEFAULT_SPREAD}. */
    public static ClusteredVectors of(long seed, int dimension) {
        return new ClusteredVectors(seed, dimension, DEFAULT_CLUSTERS, DEFAULT_SPREAD);
    }

    public int dimension() {
        return dimension;
    }

    public int clusters() {
        return centroids.length;
    }

    public static String itemId(long index) {
        return "i" + index;
    }

    /** Item {@code index}'s vector (not normalised). */
    public float[] vector(long index) {
        return sample(new SplittableRandom(mix(seed ^ ITEM_STREAM, index)));
    }

    /** Item {@code index} with the given version. */
    public IndexedVector item(long index, long version) {
        return new IndexedVector(itemId(index), vector(index), version);
    }

    /** Items {@code [from, to)}, version 1. */
    public List<IndexedVector> items(long from, long to) {
        List<IndexedVector> out = new ArrayList<>((int) Math.max(0, to - from));
        for (long i = from; i < to; i++) {
            out.add(item(i, 1));
        }
        return out;
    }

    /** Query {@code index}: drawn like an item but from an independent stream (so it is not an indexed item). */
    public float[] query(long index) {
        return sample(new SplittableRandom(mix(seed ^ QUERY_STREAM, index)));
    }

    /**
     * A replacement vector for item {@code index} at update {@code round} (round 0 is {@link #vector}), from another
     * random cluster: what a re-embedded item looks like.
     */
    public float[] updatedVector(long index, int round) {
        if (round == 0) {
            return vector(index);
        }
        return sample(new SplittableRandom(mix(mix(seed ^ ITEM_STREAM, index), round)));
    }

    private float[] sample(SplittableRandom r) {
        float[] c = centroids[r.nextInt(centroids.length)];
        float[] v = new float[dimension];
        for (int d = 0; d < dimension; d++) {
            v[d] = (float) (c[d] + spread * gaussian(r));
        }
        return v;
    }

    private static long mix(long a, long b) {
        long z = a + 0x9e3779b97f4a7c15L * (b + 1);
        z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
        z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
        return z ^ (z >>> 31);
    }

    /** Box-Muller (SplittableRandom has no nextGaussian on Java 17). */
    private static double gaussian(SplittableRandom r) {
        double u1;
        do {
            u1 = r.nextDouble();
        } while (u1 == 0);
        return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * r.nextDouble());
    }
}
