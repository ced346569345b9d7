package dev.streamrec.index.ann;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInput;
import java.io.DataInputStream;
import java.io.DataOutput;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.StreamCorruptedException;

import com.github.jelmerk.hnswlib.core.hnsw.HnswIndex;

/**
 * The binary snapshot of a {@link ShardVectorIndex}: the whole index, graph included, so loading it needs no rebuild
 * and searches answer exactly as before. A small header (magic, format, dimension, node count), then hnswlib's own
 * stream (its custom writeObject: ints for the links, {@link ItemCodec} records for the items) in length-prefixed
 * {@link Frames}, so a snapshot can be read from inside a larger stream without over-reading it.
 */
public final class IndexSnapshotCodec {

    private static final int MAGIC = 0x53565831; // "SVX1"
    private static final int FORMAT = 1;

    private IndexSnapshotCodec() {
    }

    /** Writes the graph in use (a background compaction's new graph is not in use until it is swapped in). */
    public static void write(ShardVectorIndex index, DataOutput out) throws IOException {
        HnswGraph graph = index.graphInUse();
        out.writeInt(MAGIC);
        out.writeInt(FORMAT);
        out.writeInt(index.dimension());
        out.writeInt(graph.nodes);
        try (Frames.Out frames = new Frames.Out(out)) {
            graph.hnsw.save(frames);
        }
    }

    /** The snapshot as one byte array, as keyed state stores it. */
    public static byte[] toBytes(ShardVectorIndex index) throws IOException {
        ByteArrayOutputStream buffer = new ByteArrayOutputStream(1 << 20);
        try (DataOutputStream data = new DataOutputStream(buffer)) {
            write(index, data);
        }
        return buffer.toByteArray();
    }

    /** Reads a snapshot from a stream (buffered here) that holds nothing else; leaves the stream open. */
    public static ShardVectorIndex readAll(InputStream in, IndexParams params) throws IOException {
        return read(new DataInputStream(new BufferedInputStream(in, 1 << 16)), params);
    }

    /**
     * Reads a snapshot written by {@link #write}. The graph keeps the m and efConstruction it was built with; the
     * search ef and the capacity/compaction settings come from {@code params}.
     */
    public static ShardVectorIndex read(DataInput in, IndexParams params) throws IOException {
        int magic = in.readInt();
        if (magic != MAGIC) {
            throw new StreamCorruptedException("not a ShardVectorIndex snapshot (magic " + Integer.toHexString(magic) + ")");
        }
        int format = in.readInt();
        if (format != FORMAT) {
            throw new StreamCorruptedException("unknown snapshot format " + format);
        }
        int dimension = in.readInt();
        int nodes = in.readInt();
        HnswIndex<String, float[], IndexItem, Float> hnsw;
        try (Frames.In frames = new Frames.In(in)) {
            hnsw = HnswIndex.load(frames, IndexSnapshotCodec.class.getClassLoader());
        } catch (IllegalArgumentException | ClassCastException e) {
            throw new IOException("cannot read the index snapshot", e);
        }
        if (hnsw.getDimensions() != dimension) {
            throw new StreamCorruptedException("snapshot dimension " + hnsw.getDimensions() + " != header " + dimension);
        }
        if (!((Object) hnsw.getItemSerializer() instanceof ItemCodec codec)) {
            throw new StreamCorruptedException("snapshot was not written by ShardVectorIndex");
        }
        codec.endRead();
        hnsw.setEf(params.ef());
        HnswGraph graph = new HnswGraph(params, hnsw);
        graph.nodes = nodes;
        return new ShardVectorIndex(dimension, params, graph);
    }
}
