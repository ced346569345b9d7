package dev.streamrec.index.ann;

import java.io.IOException;
import java.io.ObjectInput;
import java.io.ObjectOutput;
import java.io.StreamCorruptedException;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.util.HashMap;
import java.util.Map;

import com.github.jelmerk.hnswlib.core.ObjectSerializer;

/**
 * Writes ids and items inside hnswlib's snapshot stream. One instance serves as both the id and the item serializer,
 * so it is written once and read back as one object; while reading it remembers the ids of live items (which
 * hnswlib reads first, in its id-to-node map) and hands the same String instance to the item of that node, instead of
 * keeping every id twice in memory after a restore.
 *
 * <p>Record layout: a tag byte (0 id, 1 item), the id as modified UTF-8, and for items the version (long) and the
 * vector as {@code dimension} big-endian floats.
 */
final class ItemCodec implements ObjectSerializer<Object> {

    private static final long serialVersionUID = 1L;

    private static final VarHandle FLOATS = MethodHandles.byteArrayViewVarHandle(float[].class, ByteOrder.BIG_ENDIAN);
    private static final byte ID = 0;
    private static final byte ITEM = 1;

    private final int dimension;
    private transient byte[] scratch;
    private transient Map<String, String> canonicalIds;

    ItemCodec(int dimension) {
        this.dimension = dimension;
    }

    @Override
    public void write(Object o, ObjectOutput out) throws IOException {
        if (o instanceof String id) {
            out.writeByte(ID);
            out.writeUTF(id);
        } else {
            IndexItem item = (IndexItem) o;
            out.writeByte(ITEM);
            out.writeUTF(item.id);
            out.writeLong(item.version);
            byte[] buf = scratch();
            float[] v = item.vector;
            for (int i = 0; i < dimension; i++) {
                FLOATS.set(buf, i * Float.BYTES, v[i]);
            }
            out.write(buf);
        }
    }

    @Override
    public Object read(ObjectInput in) throws IOException {
        byte tag = in.readByte();
        if (tag == ID) {
            String id = in.readUTF();
            if (canonicalIds == null) {
                canonicalIds = new HashMap<>();
            }
            canonicalIds.put(id, id);
            return id;
        }
        if (tag != ITEM) {
            throw new StreamCorruptedException("bad record tag " + tag);
        }
        String id = in.readUTF();
        if (canonicalIds != null) {
            id = canonicalIds.getOrDefault(id, id);
        }
        long version = in.readLong();
        byte[] buf = scratch();
        in.readFully(buf);
        float[] v = new float[dimension];
        for (int i = 0; i < dimension; i++) {
            v[i] = (float) FLOATS.get(buf, i * Float.BYTES);
        }
        return new IndexItem(id, v, version);
    }

    /** Drops the id table used while reading. */
    void endRead() {
        canonicalIds = null;
        scratch = null;
    }

    private byte[] scratch() {
        if (scratch == null) {
            scratch = new byte[dimension * Float.BYTES];
        }
        return scratch;
    }
}
