package dev.streamrec.joiner;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;

import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.runtime.state.VoidNamespace;
import org.apache.flink.state.rocksdb.EmbeddedRocksDBStateBackend;
import org.apache.flink.streaming.api.watermark.Watermark;
import org.apache.flink.streaming.util.KeyedTwoInputStreamOperatorTestHarness;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import dev.streamrec.avro.ActionType;
import dev.streamrec.avro.DeadLetter;
import dev.streamrec.avro.Impression;
import dev.streamrec.avro.PackedImpression;
import dev.streamrec.avro.TrainingExample;
import dev.streamrec.avro.UserAction;
import dev.streamrec.jobs.io.DeadLetters;

/** ExampleJoiner through Flink's keyed two-input operator harness, on RocksDB as in production. */
class ExampleJoinerTest {
    static final long T0 = 1_700_000_000_000L;
    static final long MINUTE = 60_000L;
    static final long WINDOW = 60 * MINUTE;
    static final long LATENESS = 6 * 60 * MINUTE;
    static final EnumSet<ActionType> POSITIVE = EnumSet.of(ActionType.CLICK, ActionType.LIKE, ActionType.SHARE,
            ActionType.COMMENT, ActionType.PURCHASE, ActionType.COMPLETE);

    private KeyedTwoInputStreamOperatorTestHarness<String, PackedImpression, UserAction, TrainingExample> harness;

    static JoinerSettings settings(double rate, boolean emitLate) {
        return new JoinerSettings(WINDOW, LATENESS, emitLate, rate, POSITIVE, 4.0);
    }

    void start(JoinerSettings settings, OperatorSubtaskState restoreFrom) throws Exception {
        harness = new KeyedTwoInputStreamOperatorTestHarness<>(
                new ExampleJoiner("joiner-job", "impressions", "user-actions", settings),
                JoinKey::of, JoinKey::of, Types.STRING);
        // RocksDB, as in production: every read decodes a copy, so a change not written back fails here.
        harness.setStateBackend(new EmbeddedRocksDBStateBackend());
        harness.setup();
        if (restoreFrom != null) {
            harness.initializeState(restoreFrom);
        }
        harness.open();
        harness.setProcessingTime(T0);
    }

    @AfterEach
    void tearDown() throws Exception {
        if (harness != null) {
            harness.close();
        }
    }

    static Impression impression(String id, String request, String user, String item, long time) {
        return new Impression(id, request, user, item, 3, "u2i", "v1", null, Map.of("ctr", 0.25), time);
    }

    static UserAction action(String eventId, String user, String item, ActionType type, double value, long time, String request) {
        return new UserAction(eventId, user, item, type, value, time, request);
    }

    static UserAction click(String eventId, String user, String item, long time) {
        return action(eventId, user, item, ActionType.CLICK, 1.0, time, null);
    }

    void impression(Impression i) throws Exception {
        harness.processElement1(ImpressionPacker.pack(i), i.getEventTime());
    }

    void action(UserAction a) throws Exception {
        harness.processElement2(a, a.getEventTime());
    }

    void watermark(long time) throws Exception {
        harness.processWatermark1(new Watermark(time));
        harness.processWatermark2(new Watermark(time));
    }

    List<TrainingExample> out() {
        return harness.extractOutputValues();
    }

    List<DeadLetter> deadLetters() {
        return harness.getSideOutput(DeadLetters.TAG) == null ? List.of()
                : harness.getSideOutput(DeadLetters.TAG).stream().map(r -> r.getValue()).toList();
    }

    /** An impression id the sampler keeps (or drops) at rate r. */
    static String sampledId(String prefix, double rate, boolean kept) {
        for (int i = 0; ; i++) {
            if (KeyJoin.keepsNegative(prefix + i, rate) == kept) {
                return prefix + i;
            }
        }
    }

    @Test
    void anActionInsideTheWindowMakesOnePositiveExampleWhenTheWindowCloses() throws Exception {
        start(settings(0.1, true), null);
        impression(impression("imp-1", "req-1", "u1", "i1", T0));
        action(click("e1", "u1", "i1", T0 + 10 * MINUTE));
        watermark(T0 + WINDOW - 1);
        assertThat(out()).isEmpty();

        watermark(T0 + WINDOW);
        assertThat(out()).hasSize(1);
        TrainingExample e = out().get(0);
        assertThat(e.getExampleId()).isEqualTo("imp-1");
        assertThat(e.getLabel()).isEqualTo(1);
        assertThat(e.getSampleWeight()).isEqualTo(1.0);
        assertThat(e.getSampleRate()).isEqualTo(1.0);
        assertThat(e.getLabels()).isEqualTo(Map.of("CLICK", 1));
        assertThat(e.getTimeToFirstActionMs()).isEqualTo(10 * MINUTE);
        assertThat(e.getWindowEnd()).isEqualTo(T0 + WINDOW);
        assertThat(e.getLate()).isFalse();
        // The impression comes out whole: ids restored from the key, the feature snapshot, channel, model, position.
        assertThat(e.getImpression()).isEqualTo(impression("imp-1", "req-1", "u1", "i1", T0));
    }

    @Test
    void anActionAfterTheWindowLeavesTheExampleNegativeAndAddsALatePositive() throws Exception {
        start(settings(1.0, true), null);
        impression(impression("imp-1", "req-1", "u1", "i1", T0));
        action(click("e1", "u1", "i1", T0 + WINDOW));       // exactly at the end: after the window
        watermark(T0 + WINDOW + MINUTE);

        assertThat(out()).hasSize(2);
        TrainingExample negative = out().get(0);
        assertThat(negative.getLabel()).isZero();
        assertThat(negative.getLabels()).isEmpty();
        assertThat(negative.getTimeToFirstActionMs()).isNull();
        TrainingExample late = out().get(1);
        assertThat(late.getExampleId()).isEqualTo("imp-1:late");
        assertThat(late.getLate()).isTrue();
        assertThat(late.getReplacesNegative()).isTrue();
        assertThat(late.getLabel()).isEqualTo(1);
        assertThat(late.getSampleWeight()).isEqualTo(1.0);
        assertThat(late.getLabels()).isEqualTo(Map.of("CLICK", 1));
        assertThat(late.getTimeToFirstActionMs()).isEqualTo(WINDOW);
    }

    @Test
    void anActionBeforeItsImpressionArrivesIsHeldAndJoined() throws Exception {
        start(settings(0.1, true), null);
        action(click("e1", "u1", "i1", T0 + 5 * MINUTE));
        watermark(T0);
        impression(impression("imp-1", "req-1", "u1", "i1", T0));
        watermark(T0 + WINDOW);

        assertThat(out()).singleElement().satisfies(e -> {
            assertThat(e.getLabel()).isEqualTo(1);
            assertThat(e.getTimeToFirstActionMs()).isEqualTo(5 * MINUTE);
        });
    }

    @Test
    void severalActionsOnOneImpressionAreAllLabelled() throws Exception {
        start(settings(0.1, true), null);
        impression(impression("imp-1", "req-1", "u1", "i1", T0));
        action(action("e1", "u1", "i1", ActionType.VIEW, 1.0, T0 + MINUTE, null));
        action(click("e3", "u1", "i1", T0 + 3 * MINUTE));
        action(click("e2", "u1", "i1", T0 + 2 * MINUTE));
        action(action("e5", "u1", "i1", ActionType.RATE, 3.0, T0 + 5 * MINUTE, null));
        action(action("e4", "u1", "i1", ActionType.RATE, 5.0, T0 + 4 * MINUTE, null));
        action(action("e6", "u1", "i1", ActionType.DISLIKE, 1.0, T0 + 6 * MINUTE, null));
        watermark(T0 + WINDOW);

        TrainingExample e = out().get(0);
        assertThat(out()).hasSize(1);
        assertThat(e.getLabels()).isEqualTo(Map.of("VIEW", 1, "CLICK", 2, "RATE", 2, "DISLIKE", 1));
        assertThat(e.getValues()).containsEntry("RATE", 3.0);   // the latest rating
        assertThat(e.getTimeToFirstActionMs()).isEqualTo(MINUTE);
        assertThat(e.getLabel()).isEqualTo(1);
    }

    @Test
    void aHighRatingAloneIsPositiveAndAViewAloneIsNot() throws Exception {
        start(settings(1.0, true), null);
        impression(impression("imp-1", "r", "u1", "i1", T0));
        impression(impression("imp-2", "r", "u1", "i2", T0));
        action(action("e1", "u1", "i1", ActionType.RATE, 4.5, T0 + MINUTE, null));
        action(action("e2", "u1", "i2", ActionType.VIEW, 1.0, T0 + MINUTE, null));
        watermark(T0 + WINDOW);

        assertThat(out()).extracting(TrainingExample::getExampleId, TrainingExample::getLabel)
                .containsExactlyInAnyOrder(org.assertj.core.groups.Tuple.tuple("imp-1", 1),
                        org.assertj.core.groups.Tuple.tuple("imp-2", 0));
    }

    @Test
    void anActionJoinsTheLatestImpressionOfTheItemBeforeIt() throws Exception {
        start(settings(1.0, true), null);
        impression(impression("imp-a", "req-a", "u1", "i1", T0));
        impression(impression("imp-b", "req-b", "u1", "i1", T0 + 20 * MINUTE));
        action(click("e1", "u1", "i1", T0 + 10 * MINUTE));
        action(action("e2", "u1", "i1", ActionType.LIKE, 1.0, T0 + 30 * MINUTE, null));
        watermark(T0 + 20 * MINUTE + WINDOW);

        assertThat(out()).hasSize(2);
        assertThat(byId("imp-a").getLabels()).isEqualTo(Map.of("CLICK", 1));
        assertThat(byId("imp-b").getLabels()).isEqualTo(Map.of("LIKE", 1));
    }

    @Test
    void anActionWithARequestIdJoinsTheImpressionOfThatRequest() throws Exception {
        start(settings(1.0, true), null);
        impression(impression("imp-a", "req-a", "u1", "i1", T0));
        impression(impression("imp-b", "req-b", "u1", "i1", T0 + 20 * MINUTE));
        action(action("e1", "u1", "i1", ActionType.CLICK, 1.0, T0 + 30 * MINUTE, "req-a"));
        action(action("e2", "u1", "i1", ActionType.CLICK, 1.0, T0 + 31 * MINUTE, "req-unknown"));
        watermark(T0 + 20 * MINUTE + WINDOW);

        assertThat(byId("imp-a").getLabel()).isEqualTo(1);
        assertThat(byId("imp-b").getLabel()).isZero();   // the unknown request joins nothing (counted unmatched)
    }

    @Test
    void duplicateImpressionsAndActionsAreDropped() throws Exception {
        start(settings(1.0, true), null);
        impression(impression("imp-1", "req-1", "u1", "i1", T0));
        impression(impression("imp-1", "req-1", "u1", "i1", T0));
        action(click("e1", "u1", "i1", T0 + MINUTE));
        action(click("e1", "u1", "i1", T0 + MINUTE));
        watermark(T0 + WINDOW);
        // A retried impression after its window closed is still known as a duplicate (not a late event).
        impression(impression("imp-1", "req-1", "u1", "i1", T0));

        assertThat(out()).singleElement().satisfies(e -> assertThat(e.getLabels()).isEqualTo(Map.of("CLICK", 1)));
        assertThat(deadLetters()).isEmpty();
    }

    @Test
    void onlyTheFirstLatePositiveCountsAndDropModeEmitsNone() throws Exception {
        start(settings(1.0, true), null);
        impression(impression("imp-1", "req-1", "u1", "i1", T0));
        watermark(T0 + WINDOW);
        action(click("e1", "u1", "i1", T0 + WINDOW + MINUTE));
        action(action("e2", "u1", "i1", ActionType.LIKE, 1.0, T0 + WINDOW + 2 * MINUTE, null));
        watermark(T0 + WINDOW + 3 * MINUTE);
        assertThat(out()).extracting(TrainingExample::getExampleId).containsExactly("imp-1", "imp-1:late");
        harness.close();

        start(settings(1.0, false), null);
        impression(impression("imp-1", "req-1", "u1", "i1", T0));
        watermark(T0 + WINDOW);
        action(click("e1", "u1", "i1", T0 + WINDOW + MINUTE));
        watermark(T0 + WINDOW + 3 * MINUTE);
        assertThat(out()).extracting(TrainingExample::getExampleId).containsExactly("imp-1");
        assertThat(deadLetters()).isEmpty();
    }

    @Test
    void aLatePositiveOfADroppedNegativeIsStillEmittedAndSaysNothingToReplace() throws Exception {
        start(settings(0.1, true), null);
        String id = sampledId("imp-", 0.1, false);
        impression(impression(id, "req-1", "u1", "i1", T0));
        action(click("e1", "u1", "i1", T0 + 2 * WINDOW));
        watermark(T0 + 2 * WINDOW);
        assertThat(out()).singleElement().satisfies(e -> {
            assertThat(e.getExampleId()).isEqualTo(id + ":late");
            assertThat(e.getReplacesNegative()).isFalse();
        });
    }

    @Test
    void actionsBeyondTheAllowedLatenessGoToDeadLetters() throws Exception {
        start(settings(1.0, true), null);
        impression(impression("imp-1", "req-1", "u1", "i1", T0));
        action(click("e1", "u1", "i1", T0 + WINDOW + LATENESS));   // exactly at the lateness end: beyond it
        watermark(T0 + WINDOW + LATENESS);
        // Far behind the watermark: no impression it could join is held any more.
        watermark(T0 + 3 * (WINDOW + LATENESS));
        action(click("e2", "u1", "i1", T0 + WINDOW));
        // An impression whose window closed before it arrived.
        impression(impression("imp-2", "req-2", "u1", "i1", T0 + WINDOW + LATENESS));

        assertThat(out()).extracting(TrainingExample::getExampleId).containsExactly("imp-1");
        assertThat(deadLetters()).extracting(DeadLetter::getReason)
                .hasSize(3).allMatch(r -> r.startsWith("late-event: "));
        assertThat(deadLetters()).extracting(DeadLetter::getTopic).containsExactly("user-actions", "user-actions", "impressions");
        assertThat(DeadLetters.sourceKey(deadLetters().get(0))).isEqualTo("u1");
    }

    @Test
    void negativesAreSampledFromTheirIdsAndWeightedByTheInverseRate() throws Exception {
        List<String> kept = runNegatives(2000);
        List<String> again = runNegatives(2000);
        assertThat(kept).isEqualTo(again);
        // A binomial(2000, 0.1) draw: 200 expected, this band is over 6 standard deviations wide.
        assertThat(kept.size()).isBetween(120, 280);
        assertThat(out()).allSatisfy(e -> {
            assertThat(e.getLabel()).isZero();
            assertThat(e.getSampleRate()).isEqualTo(0.1);
            assertThat(e.getSampleWeight()).isEqualTo(10.0);
            assertThat(KeyJoin.keepsNegative(e.getExampleId(), 0.1)).isTrue();
        });
    }

    private List<String> runNegatives(int n) throws Exception {
        if (harness != null) {
            harness.close();
        }
        start(settings(0.1, true), null);
        for (int i = 0; i < n; i++) {
            impression(impression("imp-" + i, "req", "u" + (i % 7), "i" + i, T0 + i));
        }
        watermark(T0 + n + WINDOW);
        return out().stream().map(TrainingExample::getExampleId).sorted().toList();
    }

    @Test
    void stateAndTimersAreClearedWhenTheLatenessEnds() throws Exception {
        start(settings(0.1, true), null);
        impression(impression("imp-1", "req-1", "u1", "i1", T0));
        impression(impression("imp-2", "req-2", "u1", "i2", T0));
        action(click("e1", "u1", "i1", T0 + MINUTE));
        action(click("e9", "u2", "i9", T0 + MINUTE));            // never matches
        watermark(T0 + WINDOW);
        assertThat(keysWithState()).isEqualTo(2);   // held for late positives and duplicates
        assertThat(dueEntries()).isEqualTo(2);
        watermark(T0 + WINDOW + LATENESS);
        assertThat(keysWithState()).isZero();
        assertThat(dueEntries()).isZero();
    }

    @Test
    void aSnapshotMidWindowRestoresToTheSameExamples() throws Exception {
        start(settings(1.0, true), null);
        impression(impression("imp-1", "req-1", "u1", "i1", T0));
        action(click("e2", "u1", "i1", T0 + 40 * MINUTE));     // pending: after the watermark
        watermark(T0 + 30 * MINUTE);
        action(click("e1", "u1", "i1", T0 + 10 * MINUTE));     // joined already
        OperatorSubtaskState snapshot = harness.snapshot(1, T0);
        harness.close();

        start(settings(1.0, true), snapshot);
        action(click("e2", "u1", "i1", T0 + 40 * MINUTE));     // a replayed duplicate
        watermark(T0 + WINDOW);
        assertThat(out()).singleElement().satisfies(e -> {
            assertThat(e.getLabels()).isEqualTo(Map.of("CLICK", 2));
            assertThat(e.getTimeToFirstActionMs()).isEqualTo(10 * MINUTE);
        });
    }

    /** Entries of the operator's due index (its event-time timers). */
    private int dueEntries() {
        return ((ExampleJoiner) harness.getOperator()).dueEntries();
    }

    /** Keys holding join state (the harness's own count supports only the heap backend). */
    private long keysWithState() throws Exception {
        try (var keys = harness.getOperator().getKeyedStateBackend()
                .getKeys(ExampleJoiner.stateDescriptor().getName(), VoidNamespace.INSTANCE)) {
            return keys.count();
        }
    }

    private TrainingExample byId(String exampleId) {
        List<TrainingExample> found = new ArrayList<>();
        for (TrainingExample e : out()) {
            if (e.getExampleId().equals(exampleId)) {
                found.add(e);
            }
        }
        assertThat(found).as("examples " + exampleId).hasSize(1);
        return found.get(0);
    }
}
