package dev.streamrec.index;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;

/**
 * Vectors as the index-job moves them: float32 little-endian bytes in Avro records (compact, no boxing), float[] in
 * the index. Stored vectors are unit length, so a dot product is the cosine similarity.
 */
public final class Vectors {
    public static final ByteBuffer EMPTY = ByteBuffer.allocate(0);

    private Vectors() {}

    public static float[] fromList(List<Float> values) {
        float[] v = new float[values.size()];
        for (int i = 0; i < v.length; i++) {
            v[i] = values.get(i);
        }
        return v;
    }

    /** Reads without moving the buffer's position (buffers are shared between copies of a request). */
    public static float[] fromBytes(ByteBuffer bytes) {
        ByteBuffer b = bytes.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        float[] v = new float[b.remaining() / Float.BYTES];
        for (int i = 0; i < v.length; i++) {
            v[i] = b.getFloat(b.position() + i * Float.BYTES);
        }
        return v;
    }

    public static ByteBuffer toBytes(float[] v) {
        ByteBuffer b = ByteBuffer.allocate(v.length * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        for (float f : v) {
            b.putFloat(f);
        }
        b.flip();
        return b;
    }

    public static boolean isEmpty(ByteBuffer bytes) {
        return bytes == null || !bytes.hasRemaining();
    }

    /** The unit vector in v's direction, or null when v has no direction (zero length) or a NaN/infinite value. */
    public static float[] normalized(float[] v) {
        try {
            return dev.streamrec.index.ann.Vectors.unitCopy(v, v.length);
        } catch (IllegalArgumentException nanOrInfinite) { // the only failure left at v's own dimension
            return null;
        }
    }
}
