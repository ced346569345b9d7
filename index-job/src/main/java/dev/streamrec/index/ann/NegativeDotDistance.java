package dev.streamrec.index.ann;

import com.github.jelmerk.hnswlib.core.DistanceFunction;

/**
 * Distance {@code -dot(u, v)}: on unit vectors this orders exactly like cosine distance, costs one dot product (no
 * norms, no square roots), and gives the cosine similarity back exactly as {@code -distance}.
 */
final class NegativeDotDistance implements DistanceFunction<float[], Float> {

    private static final long serialVersionUID = 1L;

    static final NegativeDotDistance INSTANCE = new NegativeDotDistance();

    private NegativeDotDistance() {
    }

    @Override
    public Float distance(float[] u, float[] v) {
        return -VectorMath.dot(u, v);
    }

    private Object readResolve() {
        return INSTANCE;
    }
}
