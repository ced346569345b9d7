package dev.streamrec.index;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.SequenceInputStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Collections;
import java.util.List;
import java.util.Set;

import org.apache.flink.api.common.state.MapState;
import org.apache.flink.api.common.state.MapStateDescriptor;
import org.apache.flink.api.common.typeinfo.PrimitiveArrayTypeInfo;
import org.apache.flink.api.common.typeinfo.Types;

/**
 * A shard's index snapshots in its keyed state: per model version, the snapshot's bytes in chunks
 * ({@code index-snapshot}, key {@code version#i}) and their number ({@code index-snapshot-chunks}, key version).
 * Chunks, because RocksDB handles values of a few MB well, not of hundreds. The state handles are the caller's, so
 * every call reads and writes the current key's (shard's) snapshots.
 */
final class ShardSnapshotStore implements ShardRestorer.Snapshots {
    static final int CHUNK_BYTES = 4 << 20;

    static final MapStateDescriptor<String, byte[]> CHUNKS =
            new MapStateDescriptor<>("index-snapshot", Types.STRING, PrimitiveArrayTypeInfo.BYTE_PRIMITIVE_ARRAY_TYPE_INFO);
    static final MapStateDescriptor<String, Integer> CHUNK_COUNTS =
            new MapStateDescriptor<>("index-snapshot-chunks", Types.STRING, Types.INT);

    private final MapState<String, byte[]> chunks;
    private final MapState<String, Integer> chunkCounts;
    private final int chunkBytes;

    ShardSnapshotStore(MapState<String, byte[]> chunks, MapState<String, Integer> chunkCounts) {
        this(chunks, chunkCounts, CHUNK_BYTES);
    }

    /** With another chunk size: for tests. */
    ShardSnapshotStore(MapState<String, byte[]> chunks, MapState<String, Integer> chunkCounts, int chunkBytes) {
        this.chunks = chunks;
        this.chunkCounts = chunkCounts;
        this.chunkBytes = chunkBytes;
    }

    /** The versions that have a snapshot. */
    @Override
    public Collection<String> versions() throws Exception {
        List<String> versions = new ArrayList<>();
        chunkCounts.keys().forEach(versions::add);
        return versions;
    }

    /** The version's snapshot bytes, its chunks in order. */
    @Override
    public InputStream open(String version) throws Exception {
        Integer count = chunkCounts.get(version);
        if (count == null) {
            throw new IOException("no snapshot of version " + version);
        }
        List<InputStream> parts = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            byte[] chunk = chunks.get(chunkKey(version, i));
            if (chunk == null) {
                throw new IOException("chunk " + i + " of " + count + " missing");
            }
            parts.add(new ByteArrayInputStream(chunk));
        }
        return new SequenceInputStream(Collections.enumeration(parts));
    }

    /** Replaces the version's snapshot, dropping the previous one's chunks past the new one's. */
    void write(String version, byte[] snapshot) throws Exception {
        int count = Math.max(1, (snapshot.length + chunkBytes - 1) / chunkBytes);
        for (int i = 0; i < count; i++) {
            int from = i * chunkBytes;
            chunks.put(chunkKey(version, i), Arrays.copyOfRange(snapshot, from, Math.min(snapshot.length, from + chunkBytes)));
        }
        Integer previous = chunkCounts.get(version);
        for (int i = count; previous != null && i < previous; i++) {
            chunks.remove(chunkKey(version, i));
        }
        chunkCounts.put(version, count);
    }

    void drop(String version) throws Exception {
        Integer count = chunkCounts.get(version);
        for (int i = 0; count != null && i < count; i++) {
            chunks.remove(chunkKey(version, i));
        }
        chunkCounts.remove(version);
    }

    /** Drops the snapshots of every version not in {@code versions}. */
    void retainOnly(Set<String> versions) throws Exception {
        for (String version : versions()) {
            if (!versions.contains(version)) {
                drop(version);
            }
        }
    }

    static String chunkKey(String version, int chunk) {
        return version + "#" + chunk;
    }
}
