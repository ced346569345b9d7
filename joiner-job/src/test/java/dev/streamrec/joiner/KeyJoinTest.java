package dev.streamrec.joiner;

import static dev.streamrec.joiner.ExampleJoinerTest.MINUTE;
import static dev.streamrec.joiner.ExampleJoinerTest.T0;
import static dev.streamrec.joiner.ExampleJoinerTest.WINDOW;
import static dev.streamrec.joiner.ExampleJoinerTest.click;
import static dev.streamrec.joiner.ExampleJoinerTest.impression;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;

import org.apache.avro.specific.SpecificRecordBase;
import org.junit.jupiter.api.Test;

import dev.streamrec.avro.HeldImpression;
import dev.streamrec.avro.Impression;
import dev.streamrec.avro.JoinState;
import dev.streamrec.avro.TrainingExample;
import dev.streamrec.jobs.io.Rejection;

/** What the join counts (the metrics), on the logic alone. */
class KeyJoinTest {
    private final List<TrainingExample> examples = new ArrayList<>();
    private final List<KeyJoin.Count> counts = new ArrayList<>();
    private final List<Rejection> rejections = new ArrayList<>();
    private final KeyJoin.Output output = new KeyJoin.Output() {
        @Override public void emit(TrainingExample example) { examples.add(example); }
        @Override public void reject(SpecificRecordBase record, Rejection why) { rejections.add(why); }
        @Override public void count(KeyJoin.Count what) { counts.add(what); }
        @Override public long now() { return 0; }
    };

    @Test
    void countsEveryOutcome() {
        KeyJoin join = new KeyJoin(ExampleJoinerTest.settings(1.0, false));
        JoinState state = KeyJoin.emptyState();
        long wm = Long.MIN_VALUE;
        join.onImpression(state, ImpressionPacker.pack(impression("imp-1", "r1", "u1", "i1", T0)), wm, output);
        join.onImpression(state, ImpressionPacker.pack(impression("imp-1", "r1", "u1", "i1", T0)), wm, output);
        join.onAction(state, "u1", "i1", click("e0", "u1", "i1", T0 - MINUTE), wm, output);   // before any impression
        join.onAction(state, "u1", "i1", click("e1", "u1", "i1", T0 + MINUTE), wm, output);
        join.onAction(state, "u1", "i1", click("e1", "u1", "i1", T0 + MINUTE), wm, output);
        assertThat(KeyJoin.openImpressions(state)).isEqualTo(1);
        join.advance(state, "u1", "i1", T0 + WINDOW, output);
        join.onAction(state, "u1", "i1", click("e2", "u1", "i1", T0 + WINDOW + 1), T0 + WINDOW + 1, output);

        join.onImpression(state, ImpressionPacker.pack(impression("imp-2", "r2", "u1", "i1", T0 + 2 * WINDOW)), T0 + WINDOW + 1, output);
        join.advance(state, "u1", "i1", T0 + 3 * WINDOW, output);
        join.onAction(state, "u1", "i1", click("e3", "u1", "i1", T0 + 3 * WINDOW), T0 + 3 * WINDOW, output);

        assertThat(counts).containsExactly(KeyJoin.Count.OPENED, KeyJoin.Count.DUPLICATE_IMPRESSION,
                KeyJoin.Count.UNMATCHED_ACTION, KeyJoin.Count.DUPLICATE_ACTION, KeyJoin.Count.POSITIVE,
                KeyJoin.Count.ACTION_AFTER_CLOSE, KeyJoin.Count.OPENED, KeyJoin.Count.NEGATIVE_KEPT,
                KeyJoin.Count.LATE_POSITIVE_DROPPED);
        assertThat(examples).extracting(TrainingExample::getExampleId).containsExactly("imp-1", "imp-2");
        assertThat(rejections).isEmpty();
        assertThat(join.nextDue(state)).isEqualTo(T0 + WINDOW + ExampleJoinerTest.LATENESS);
    }

    @Test
    void readsImpressionsHeldBeforeTheyWerePacked() {
        // A state written by builds before PackedImpression: the record itself held (ids empty), no packed bytes.
        KeyJoin join = new KeyJoin(ExampleJoinerTest.settings(1.0, true));
        Impression before = impression("imp-1", "r1", "", "", T0);
        JoinState state = KeyJoin.emptyState();
        state.getImpressions().add(new HeldImpression(before, ByteBuffer.allocate(0), KeyJoin.hash("imp-1"),
                KeyJoin.hash("r1"), T0, KeyJoin.OPEN, false, new HashMap<>(), new HashMap<>(), new HashMap<>(), null,
                ByteBuffer.allocate(0)));
        join.advance(state, "u1", "i1", T0 + WINDOW, output);
        join.onAction(state, "u1", "i1", click("e1", "u1", "i1", T0 + WINDOW + MINUTE), T0 + WINDOW + MINUTE, output);

        assertThat(examples).extracting(TrainingExample::getExampleId).containsExactly("imp-1", "imp-1" + KeyJoin.LATE_SUFFIX);
        assertThat(examples).extracting(TrainingExample::getImpression)
                .containsOnly(impression("imp-1", "r1", "u1", "i1", T0));
        assertThat(state.getImpressions().get(0).getImpression()).as("forgotten after its last example").isNull();
    }

    @Test
    void joinKeysSplitBackIntoTheirIds() {
        for (String[] ids : new String[][] {{"u1", "i1"}, {"12:3", "4:5"}, {"", "x"}, {"ü", ""}}) {
            String key = JoinKey.of(ids[0], ids[1]);
            assertThat(JoinKey.userId(key)).isEqualTo(ids[0]);
            assertThat(JoinKey.itemId(key)).isEqualTo(ids[1]);
        }
        assertThat(JoinKey.of("1", "23")).isNotEqualTo(JoinKey.of("12", "3"));
    }
}
