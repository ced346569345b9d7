package dev.streamrec.index;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.Test;

import dev.streamrec.avro.ShardItem;
import dev.streamrec.avro.VersionedVector;
import dev.streamrec.index.ann.ClusteredVectors;
import dev.streamrec.index.ann.IndexParams;
import dev.streamrec.index.ann.IndexSnapshotCodec;
import dev.streamrec.index.ann.IndexedVector;
import dev.streamrec.index.ann.ShardVectorIndex;
import dev.streamrec.index.ann.VectorMath;

/** The restorer alone: items in a plain map, snapshots as byte arrays. */
class ShardRestorerTest {
    private static final int DIM = 8;
    private static final ClusteredVectors DATA = new ClusteredVectors(5, DIM, 4, 0.2);
    private static final IndexParams PARAMS = IndexParams.defaults();

    private final Map<String, ShardItem> items = new LinkedHashMap<>();
    private final Map<String, byte[]> snapshotBytes = new LinkedHashMap<>();
    private final AtomicLong sequence = new AtomicLong(1000);
    private final ShardRestorer restorer = new ShardRestorer(PARAMS, 1);

    /** Snapshots from {@link #snapshotBytes}; a version mapped to null fails to open, as a missing chunk does. */
    private final ShardRestorer.Snapshots snapshots = new ShardRestorer.Snapshots() {
        @Override
        public Collection<String> versions() {
            return snapshotBytes.keySet();
        }

        @Override
        public InputStream open(String version) throws IOException {
            byte[] bytes = snapshotBytes.get(version);
            if (bytes == null) {
                throw new IOException("chunk 0 of 1 missing");
            }
            return new ByteArrayInputStream(bytes);
        }
    };

    /** Sets the item's vector of {@code version} (data vector {@code i}) with sequence number {@code seq}. */
    private void put(String itemId, String version, int i, long seq) {
        ShardItem item = items.computeIfAbsent(itemId, id -> new ShardItem(id, null, new ArrayList<>(), new HashMap<>(), 0L, 0L));
        item.getVersions().put(version, new VersionedVector(AvroVectors.toBytes(VectorMath.normalized(DATA.vector(i))), 0L, seq));
    }

    private void fill(String version, int n) {
        for (int i = 0; i < n; i++) {
            put(ClusteredVectors.itemId(i), version, i, i + 1);
        }
    }

    /** A snapshot of what {@link #items} hold now for {@code version}. */
    private void snapshot(String version) throws IOException {
        List<IndexedVector> vectors = new ArrayList<>();
        items.forEach((id, item) -> {
            VersionedVector v = item.getVersions().get(version);
            if (v != null) {
                vectors.add(new IndexedVector(id, AvroVectors.fromBytes(v.getVector()), v.getSeq()));
            }
        });
        snapshotBytes.put(version, IndexSnapshotCodec.toBytes(ShardVectorIndex.build(DIM, PARAMS, vectors, 1)));
    }

    private ShardRestorer.Restored restore() throws Exception {
        return restorer.restore(0, items.entrySet(), snapshots, sequence::incrementAndGet);
    }

    /** Every item of the version with its sequence number: what the restored index must hold. */
    private Map<String, Long> expected(String version) {
        Map<String, Long> out = new HashMap<>();
        items.forEach((id, item) -> {
            VersionedVector v = item.getVersions().get(version);
            if (v != null) {
                out.put(id, v.getSeq());
            }
        });
        return out;
    }

    private static Map<String, Long> contents(ShardVectorIndex index) {
        Map<String, Long> out = new HashMap<>();
        index.forEachItem(out::put);
        return out;
    }

    @Test
    void withoutSnapshotsEveryVersionIsRebuiltFromTheItems() throws Exception {
        fill("v1", 300);
        for (int i = 0; i < 100; i++) {
            put(ClusteredVectors.itemId(i), "v2", 500 + i, 2000 + i);
        }
        items.put("tombstone", new ShardItem("tombstone", null, new ArrayList<>(), new HashMap<>(), 5L, 5L));

        ShardRestorer.Restored restored = restore();

        assertThat(restored.indexes()).containsOnlyKeys("v1", "v2");
        assertThat(contents(restored.indexes().get("v1"))).isEqualTo(expected("v1"));
        assertThat(contents(restored.indexes().get("v2"))).isEqualTo(expected("v2"));
        assertThat(restored.indexes().get("v1").vector("i7")).containsExactly(VectorMath.normalized(DATA.vector(7)));
        assertThat(restored.changed()).as("rebuilt indexes differ from the (absent) snapshots").isTrue();
        assertThat(sequence.get()).isEqualTo(1000);
    }

    @Test
    void aCurrentSnapshotIsLoadedAsItWasWritten() throws Exception {
        fill("v1", 500);
        snapshot("v1");
        ShardVectorIndex original = IndexSnapshotCodec.readAll(new ByteArrayInputStream(snapshotBytes.get("v1")), PARAMS);

        ShardRestorer.Restored restored = restore();

        ShardVectorIndex index = restored.indexes().get("v1");
        assertThat(restored.changed()).isFalse();
        assertThat(index.nodeCount()).isEqualTo(original.nodeCount());
        for (int q = 0; q < 20; q++) {
            assertThat(index.search(DATA.query(q), 10, null)).isEqualTo(original.search(DATA.query(q), 10, null));
        }
    }

    @Test
    void anOlderSnapshotIsReconciledWithTheItems() throws Exception {
        fill("v1", 400);
        snapshot("v1");
        put("i3", "v1", 900, 5000);          // changed since the snapshot
        items.remove("i4");                  // deleted and swept since
        items.get("i5").getVersions().remove("v1"); // deleted, tombstone left
        put("new", "v1", 901, 5001);         // added since

        ShardRestorer.Restored restored = restore();

        ShardVectorIndex index = restored.indexes().get("v1");
        assertThat(restored.changed()).isTrue();
        assertThat(contents(index)).isEqualTo(expected("v1"));
        assertThat(index.vector("i3")).containsExactly(VectorMath.normalized(DATA.vector(900)));
        assertThat(index.search(DATA.vector(901), 1, null).get(0).itemId()).isEqualTo("new");
        assertThat(sequence.get()).as("one sequence number per removal").isEqualTo(1002);
    }

    @Test
    void anUnreadableSnapshotIsRebuiltAndTheOthersAreStillLoaded() throws Exception {
        fill("v1", 200);
        for (int i = 0; i < 200; i++) {
            put(ClusteredVectors.itemId(i), "v2", 300 + i, 1000 + i);
            put(ClusteredVectors.itemId(i), "v3", 600 + i, 2000 + i);
        }
        snapshot("v1");
        snapshotBytes.put("v2", new byte[] {1, 2, 3, 4, 5, 6, 7, 8}); // garbage
        snapshotBytes.put("v3", null);                                // a chunk missing

        ShardRestorer.Restored restored = restore();

        assertThat(restored.indexes()).containsOnlyKeys("v1", "v2", "v3");
        for (String version : List.of("v1", "v2", "v3")) {
            assertThat(contents(restored.indexes().get(version))).as(version).isEqualTo(expected(version));
        }
        assertThat(restored.changed()).isTrue();
    }

    @Test
    void aVersionWhoseItemsAreAllGoneHasNoIndex() throws Exception {
        fill("v1", 50);
        snapshot("v1");
        items.clear();

        ShardRestorer.Restored restored = restore();

        assertThat(restored.indexes()).isEmpty();
        assertThat(restored.changed()).isTrue();
    }
}
