package dev.streamrec.index;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;

/**
 * Converts vectors between the forms the index-job's Avro records carry them in and float[]: float32 little-endian
 * bytes in the internal records and state (compact, no boxing), lists of floats in the topics' records.
 */
public final class AvroVectors {
    public static final ByteBuffer EMPTY = ByteBuffer.allocate(0);

    private AvroVectors() {}

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
}
