package dev.streamrec.index.ann;

import static dev.streamrec.index.ann.ShardVectorIndexTest.SMALL;
import static dev.streamrec.index.ann.ShardVectorIndexTest.versions;
import static dev.streamrec.index.ann.VectorIndexContract.DATA;
import static dev.streamrec.index.ann.VectorIndexContract.DIM;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.util.ArrayDeque;
import java.util.Arrays;

import org.junit.jupiter.api.Test;

/** A {@link ShardVectorIndex} written and read back: the same index, graph included. */
class IndexSnapshotCodecTest {

    @Test
    void roundTripGivesIdenticalResults() throws IOException {
        ShardVectorIndex index = ShardVectorIndexTest.filled(SMALL.withCompactionThreshold(1.0), 3000);
        for (int i = 0; i < 3000; i += 7) {
            index.remove(ClusteredVectors.itemId(i), 2);
        }
        for (int i = 1; i < 3000; i += 11) {
            index.upsert(ClusteredVectors.itemId(i), DATA.updatedVector(i, 1), 3);
        }
        index.remove("i1", 4); // leaves a tombstone with version 4

        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        DataOutputStream out = new DataOutputStream(bytes);
        out.writeUTF("before");
        IndexSnapshotCodec.write(index, out);
        out.writeUTF("after"); // the snapshot is self-delimiting inside a larger stream
        out.flush();

        DataInputStream in = new DataInputStream(new ByteArrayInputStream(bytes.toByteArray()));
        assertThat(in.readUTF()).isEqualTo("before");
        ShardVectorIndex loaded = IndexSnapshotCodec.read(in, SMALL.withCompactionThreshold(1.0));
        assertThat(in.readUTF()).isEqualTo("after");

        assertThat(loaded.dimension()).isEqualTo(DIM);
        assertThat(loaded.size()).isEqualTo(index.size());
        assertThat(loaded.nodeCount()).isEqualTo(index.nodeCount());
        assertThat(loaded.deletedNodeCount()).isEqualTo(index.deletedNodeCount());
        assertThat(loaded.capacity()).isEqualTo(index.capacity());
        assertThat(versions(loaded)).isEqualTo(versions(index));
        for (int i = 0; i < 3000; i += 13) {
            String id = ClusteredVectors.itemId(i);
            assertThat(loaded.vector(id)).isEqualTo(index.vector(id));
        }
        for (int q = 0; q < 50; q++) {
            assertThat(loaded.search(DATA.query(q), 50, null)).isEqualTo(index.search(DATA.query(q), 50, null));
            assertThat(loaded.search(DATA.query(q), 200, id -> id.endsWith("3")))
                    .isEqualTo(index.search(DATA.query(q), 200, id -> id.endsWith("3")));
        }
        // the loaded index keeps working: tombstone versions survive, updates and growth work
        assertThat(loaded.upsert("i1", DATA.vector(1), 3)).isFalse();
        assertThat(loaded.upsert("i1", DATA.vector(1), 5)).isTrue();
        for (int i = 3000; i < 4000; i++) {
            loaded.upsert(ClusteredVectors.itemId(i), DATA.vector(i), 1);
        }
        assertThat(loaded.search(DATA.vector(3500), 1, null).get(0).itemId()).isEqualTo("i3500");
        assertThat(loaded.search(DATA.vector(1), 1, null).get(0).itemId()).isEqualTo("i1");
    }

    @Test
    void emptyIndexRoundTrip() throws IOException {
        ShardVectorIndex empty = new ShardVectorIndex(DIM, IndexParams.defaults());
        byte[] bytes = IndexSnapshotCodec.toBytes(empty);
        ShardVectorIndex loaded = IndexSnapshotCodec.readAll(new ByteArrayInputStream(bytes), IndexParams.defaults());
        assertThat(loaded.size()).isZero();
        assertThat(loaded.search(DATA.query(0), 10, null)).isEmpty();
        loaded.upsert("x", DATA.vector(0), 1);
        assertThat(loaded.search(DATA.query(0), 10, null)).extracting(Neighbor::itemId).containsExactly("x");
    }

    @Test
    void garbageIsNotASnapshot() {
        byte[] junk = new byte[64];
        assertThatThrownBy(() -> IndexSnapshotCodec.readAll(new ByteArrayInputStream(junk), IndexParams.defaults()))
                .isInstanceOf(IOException.class);
    }

    @Test
    void aTruncatedSnapshotIsNotReadAsAShorterIndex() throws IOException {
        byte[] bytes = IndexSnapshotCodec.toBytes(ShardVectorIndexTest.filled(IndexParams.defaults(), 500));
        for (int length : new int[] {3, 16, bytes.length / 2, bytes.length - 1}) {
            byte[] cut = Arrays.copyOf(bytes, length);
            assertThatThrownBy(() -> IndexSnapshotCodec.readAll(new ByteArrayInputStream(cut), IndexParams.defaults()))
                    .as("%d of %d bytes", length, bytes.length).isInstanceOf(IOException.class);
        }
    }

    @Test
    void aSnapshotHoldsTheGraphInUseAndSwapsInAFinishedCompactionFirst() throws IOException {
        ArrayDeque<Runnable> tasks = new ArrayDeque<>();
        ShardVectorIndex index = ShardVectorIndexTest.filled(SMALL.withCompactionMinDeleted(50), 400);
        index.compactInBackground(tasks::add); // runs when this test says so
        for (int i = 0; tasks.isEmpty(); i++) {
            index.remove(ClusteredVectors.itemId(i), 2);
        }
        int deletedBefore = index.deletedNodeCount();
        assertThat(IndexSnapshotCodec.read(new DataInputStream(new ByteArrayInputStream(IndexSnapshotCodec.toBytes(index))),
                IndexParams.defaults()).deletedNodeCount()).as("while compacting: the old graph").isEqualTo(deletedBefore);

        tasks.poll().run();
        ShardVectorIndex loaded = IndexSnapshotCodec.readAll(new ByteArrayInputStream(IndexSnapshotCodec.toBytes(index)),
                IndexParams.defaults());
        assertThat(index.compactionInProgress()).isFalse();
        assertThat(loaded.deletedNodeCount()).as("after: the compacted graph").isZero();
        assertThat(versions(loaded)).isEqualTo(versions(index));
    }
}
