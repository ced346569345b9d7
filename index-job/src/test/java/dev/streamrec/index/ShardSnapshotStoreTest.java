package dev.streamrec.index;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.InputStream;
import java.util.Map;
import java.util.Random;
import java.util.Set;

import org.junit.jupiter.api.Test;

/** The chunked snapshot store on plain maps, with 10-byte chunks so a few bytes make several. */
class ShardSnapshotStoreTest {
    private final HeapMapState<String, byte[]> chunks = new HeapMapState<>();
    private final HeapMapState<String, Integer> counts = new HeapMapState<>();
    private final ShardSnapshotStore store = new ShardSnapshotStore(chunks, counts, 10);

    private static byte[] bytes(int n, long seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }

    private byte[] read(String version) throws Exception {
        try (InputStream in = store.open(version)) {
            return in.readAllBytes();
        }
    }

    @Test
    void theStateLayoutStaysAsSavepointsHoldIt() {
        assertThat(ShardSnapshotStore.CHUNKS.getName()).isEqualTo("index-snapshot");
        assertThat(ShardSnapshotStore.CHUNK_COUNTS.getName()).isEqualTo("index-snapshot-chunks");
        assertThat(ShardSnapshotStore.CHUNK_BYTES).isEqualTo(4 << 20);
        assertThat(ShardSnapshotStore.chunkKey("v1", 3)).isEqualTo("v1#3");
    }

    @Test
    void writesInChunksAndReadsTheSameBytesBack() throws Exception {
        byte[] snapshot = bytes(25, 1);
        store.write("v1", snapshot);

        assertThat(counts.map).containsExactly(Map.entry("v1", 3));
        assertThat(chunks.map).containsOnlyKeys("v1#0", "v1#1", "v1#2");
        assertThat(chunks.get("v1#0")).hasSize(10);
        assertThat(chunks.get("v1#2")).hasSize(5);
        assertThat(read("v1")).isEqualTo(snapshot);
        assertThat(store.versions()).containsExactly("v1");
    }

    @Test
    void chunkBoundariesAndEmptySnapshots() throws Exception {
        store.write("exact", bytes(20, 2));
        store.write("empty", new byte[0]);
        assertThat(counts.get("exact")).isEqualTo(2);
        assertThat(counts.get("empty")).isEqualTo(1); // one empty chunk: the version still has a snapshot
        assertThat(read("exact")).isEqualTo(bytes(20, 2));
        assertThat(read("empty")).isEmpty();
    }

    @Test
    void aSmallerSnapshotReplacesALargerOneAndLeavesNoChunkBehind() throws Exception {
        store.write("v1", bytes(45, 3));
        store.write("v1", bytes(12, 4));
        assertThat(counts.get("v1")).isEqualTo(2);
        assertThat(chunks.map).containsOnlyKeys("v1#0", "v1#1");
        assertThat(read("v1")).isEqualTo(bytes(12, 4));
    }

    @Test
    void dropAndRetainOnlyRemoveEveryChunkOfAVersion() throws Exception {
        store.write("v1", bytes(30, 5));
        store.write("v2", bytes(15, 6));
        store.write("v3", bytes(5, 7));

        store.drop("v2");
        store.drop("never-written");
        assertThat(store.versions()).containsExactlyInAnyOrder("v1", "v3");
        assertThat(chunks.map.keySet()).noneMatch(k -> k.startsWith("v2#"));

        store.retainOnly(Set.of("v3"));
        assertThat(store.versions()).containsExactly("v3");
        assertThat(chunks.map).containsOnlyKeys("v3#0");
        assertThat(read("v3")).isEqualTo(bytes(5, 7));
    }

    @Test
    void aMissingChunkIsAnErrorNotAShorterSnapshot() throws Exception {
        store.write("v1", bytes(25, 8));
        chunks.remove("v1#1");
        assertThatThrownBy(() -> store.open("v1")).isInstanceOf(IOException.class).hasMessageContaining("chunk 1 of 3");
        assertThatThrownBy(() -> store.open("v2")).isInstanceOf(IOException.class);
    }
}
