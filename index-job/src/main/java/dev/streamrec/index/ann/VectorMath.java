package dev.streamrec.index.ann;

/** Float-vector arithmetic shared by the indexes and the job: dot products and unit-length copies. */
public final class VectorMath {

    private VectorMath() {
    }

    /**
     * Dot product with four independent accumulators: the JIT does not vectorise a float reduction (it may not
     * reorder the additions), but four chains let the CPU overlap them, which is about twice as fast as a plain loop
     * at 64 dimensions.
     */
    public static float dot(float[] a, float[] b) {
        int n = a.length;
        float s0 = 0f, s1 = 0f, s2 = 0f, s3 = 0f;
        int i = 0;
        for (int end = n & ~3; i < end; i += 4) {
            s0 += a[i] * b[i];
            s1 += a[i + 1] * b[i + 1];
            s2 += a[i + 2] * b[i + 2];
            s3 += a[i + 3] * b[i + 3];
        }
        for (; i < n; i++) {
            s0 += a[i] * b[i];
        }
        return (s0 + s1) + (s2 + s3);
    }

    /** Dot product of {@code a} with the {@code b.length} floats of {@code flat} starting at {@code offset}. */
    static float dot(float[] a, float[] flat, int offset) {
        int n = a.length;
        float s0 = 0f, s1 = 0f, s2 = 0f, s3 = 0f;
        int i = 0;
        for (int end = n & ~3; i < end; i += 4) {
            int o = offset + i;
            s0 += a[i] * flat[o];
            s1 += a[i + 1] * flat[o + 1];
            s2 += a[i + 2] * flat[o + 2];
            s3 += a[i + 3] * flat[o + 3];
        }
        for (; i < n; i++) {
            s0 += a[i] * flat[offset + i];
        }
        return (s0 + s1) + (s2 + s3);
    }

    /**
     * A unit-length copy of {@code v}, or {@code null} when its norm is zero.
     *
     * @throws IllegalArgumentException when {@code v} has {@code dimension != v.length} or a NaN/infinite component
     */
    public static float[] unitCopy(float[] v, int dimension) {
        if (v == null || v.length != dimension) {
            throw new IllegalArgumentException("vector has dimension " + (v == null ? "null" : v.length)
                    + ", expected " + dimension);
        }
        double sq = 0;
        for (float x : v) {
            if (!Float.isFinite(x)) {
                throw new IllegalArgumentException("vector has a NaN or infinite component");
            }
            sq += (double) x * x;
        }
        if (sq == 0) {
            return null;
        }
        double inv = 1.0 / Math.sqrt(sq);
        float[] u = new float[v.length];
        for (int i = 0; i < v.length; i++) {
            u[i] = (float) (v[i] * inv);
        }
        return u;
    }

    /** The unit vector in v's direction, or null when v has no direction (zero length) or a NaN/infinite value. */
    public static float[] normalized(float[] v) {
        try {
            return unitCopy(v, v.length);
        } catch (IllegalArgumentException nanOrInfinite) { // the only failure left at v's own dimension
            return null;
        }
    }
}
