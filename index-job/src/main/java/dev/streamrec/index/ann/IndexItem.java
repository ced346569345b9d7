package dev.streamrec.index.ann;

import com.github.jelmerk.hnswlib.core.Item;

/**
 * The node payload hnswlib keeps: the id, the unit vector (owned, never copied again) and the version of the update
 * that set it. Never Java-serialised: {@link ItemCodec} writes it.
 */
final class IndexItem implements Item<String, float[]> {

    private static final long serialVersionUID = 1L;

    final String id;
    final float[] vector;
    final long version;

    IndexItem(String id, float[] vector, long version) {
        this.id = id;
        this.vector = vector;
        this.version = version;
    }

    @Override
    public String id() {
        return id;
    }

    @Override
    public float[] vector() {
        return vector;
    }

    @Override
    public int dimensions() {
        return vector.length;
    }

    @Override
    public long version() {
        return version;
    }

    @Override
    public String toString() {
        return "IndexItem{" + id + ", v" + version + "}";
    }
}
