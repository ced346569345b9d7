package dev.streamrec.feature;

import static dev.streamrec.feature.Fixtures.T0;
import static dev.streamrec.feature.Fixtures.action;
import static dev.streamrec.feature.Fixtures.enriched;
import static dev.streamrec.feature.Fixtures.vector;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;

import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.streaming.api.watermark.Watermark;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.KeyedTwoInputStreamOperatorTestHarness;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import dev.streamrec.avro.ActionType;
import dev.streamrec.avro.EnrichedAction;
import dev.streamrec.avro.ModelPhase;
import dev.streamrec.avro.ModelVersion;
import dev.streamrec.avro.UserFeatures;

/**
 * The user-features operator through the operator test harness. Most tests apply one action per batch (the helper
 * lets the batch's max delay pass after each); the batching tests put several actions in one batch.
 */
class UserFeatureUpdaterTest {
    private static final long HOUR = 3_600_000L;
    private static final long TTL = 30L * 24 * HOUR;
    private static final long DELAY = 100;
    private final FeatureParams params = FeatureParams.defaults().withMaxTriggers(5);
    private KeyedTwoInputStreamOperatorTestHarness<String, EnrichedAction, ModelVersion, UserFeatures> harness;

    @BeforeEach
    void setUp() throws Exception {
        harness = openHarness(DELAY, 1000);
    }

    private KeyedTwoInputStreamOperatorTestHarness<String, EnrichedAction, ModelVersion, UserFeatures> openHarness(
            long maxDelayMs, int maxActions) throws Exception {
        var h = newHarness(maxDelayMs, maxActions);
        h.open();
        h.setProcessingTime(1_000);
        return h;
    }

    private KeyedTwoInputStreamOperatorTestHarness<String, EnrichedAction, ModelVersion, UserFeatures> newHarness(
            long maxDelayMs, int maxActions) throws Exception {
        // Input 2 (model-versions) is broadcast, not keyed: no key selector.
        return new KeyedTwoInputStreamOperatorTestHarness<>(new UserFeatureUpdater(params, TTL, maxDelayMs, maxActions),
                e -> e.getAction().getUserId(), null, Types.STRING, 1, 1, 0);
    }

    @AfterEach
    void tearDown() throws Exception {
        harness.close();
    }

    /** Applies one action and lets the batch's max delay pass: returns the record it emitted. */
    private UserFeatures apply(EnrichedAction e) throws Exception {
        int before = harness.extractOutputValues().size();
        harness.processElement1(e, e.getAction().getEventTime());
        harness.setProcessingTime(harness.getProcessingTime() + DELAY);
        List<UserFeatures> out = harness.extractOutputValues();
        assertThat(out).hasSize(before + 1);
        return out.get(out.size() - 1);
    }

    private static EnrichedAction on(String user, String item, ActionType type, long t, String category, long vectorSeed) {
        return enriched(action(user, item, type, t), category, List.of("tag-" + category, "all"),
                Map.of("v1", vector(vectorSeed, 8)));
    }

    @Test
    void matchesTheIndependentReferenceOverARandomSequence() throws Exception {
        Random r = new Random(42);
        List<ReferenceFeatures.Applied> applied = new ArrayList<>();
        UserFeatures last = null;
        ActionType[] types = {ActionType.VIEW, ActionType.CLICK, ActionType.LIKE, ActionType.DISLIKE, ActionType.PURCHASE, ActionType.RATE};
        long t = T0;
        for (int i = 0; i < 200; i++) {
            t += r.nextInt(20 * 60_000);
            // Every fifth action arrives late, up to two hours behind.
            long eventTime = i % 5 == 4 ? t - r.nextInt(2 * (int) HOUR) : t;
            ActionType type = types[r.nextInt(types.length)];
            EnrichedAction e = enriched(action("u1", "i" + r.nextInt(30), type, 0.5 + r.nextInt(10) / 2.0, eventTime),
                    "c" + r.nextInt(4), List.of("t" + r.nextInt(6)),
                    // Some items have no v2 vector yet: the user's v2 vector must still be stated as of the newest time.
                    r.nextInt(3) == 0 ? Map.of("v1", vector(r.nextLong(), 8))
                            : Map.of("v1", vector(r.nextLong(), 8), "v2", vector(r.nextLong(), 4)));
            applied.add(Fixtures.applied(e));
            last = apply(e);
        }
        new ReferenceFeatures(applied, params).assertMatches(last);
    }

    @Test
    void triggersAreNewestFirstAndALateActionNeverMovesMostRecentBackwards() throws Exception {
        apply(on("u1", "a", ActionType.CLICK, T0 + 10_000, "c1", 1));
        apply(on("u1", "b", ActionType.CLICK, T0 + 20_000, "c1", 2));
        harness.processBothWatermarks(new Watermark(T0 + 20_000));
        UserFeatures f = apply(on("u1", "late", ActionType.LIKE, T0 + 15_000, "c2", 3));

        assertThat(f.getLastEventTime()).isEqualTo(T0 + 20_000);
        assertThat(f.getTriggers()).extracting(tr -> tr.getItemId()).containsExactly("b", "late", "a");
        assertThat(f.getUpdateSeq()).isEqualTo(3);
        assertThat(f.getCategoryPreferences()).containsKeys("c1", "c2");
        assertThat(f.getLastEventId()).isNotNull();
    }

    @Test
    void triggersWithEqualEventTimesDoNotDependOnArrivalOrder() throws Exception {
        // u1 and u2 see the same seven same-second actions in opposite orders; max 5 triggers are kept.
        List<EnrichedAction> forward = new ArrayList<>();
        for (int i = 0; i < 7; i++) {
            forward.add(on("u1", "i" + i, ActionType.CLICK, T0, "c", i));
        }
        UserFeatures first = null;
        for (EnrichedAction e : forward) {
            first = apply(e);
        }
        UserFeatures second = null;
        for (int i = forward.size() - 1; i >= 0; i--) {
            EnrichedAction e = forward.get(i);
            second = apply(enriched(action("u2", e.getAction().getItemId(), ActionType.CLICK, T0), "c", e.getTags(), e.getVectors()));
        }
        assertThat(first.getTriggers()).extracting(tr -> tr.getItemId()).containsExactly("i0", "i1", "i2", "i3", "i4");
        assertThat(second.getTriggers()).isEqualTo(first.getTriggers());
    }

    @Test
    void keepsOnlyTheLastNTriggers() throws Exception {
        UserFeatures f = null;
        for (int i = 0; i < 12; i++) {
            f = apply(on("u1", "i" + i, ActionType.VIEW, T0 + i * 1000L, "c", i));
        }
        assertThat(f.getTriggers()).extracting(tr -> tr.getItemId()).containsExactly("i11", "i10", "i9", "i8", "i7");
        assertThat(f.getTotalActions()).isEqualTo(12);
    }

    @Test
    void preferencesDecayWithTheConfiguredHalfLife() throws Exception {
        apply(on("u1", "a", ActionType.CLICK, T0, "old", 1));
        UserFeatures f = apply(on("u1", "b", ActionType.CLICK, T0 + params.halfLifeMs(), "new", 2));
        double click = params.weight(ActionType.CLICK, 1.0);
        assertThat(f.getCategoryPreferences().get("old")).isEqualTo(click / 2, org.assertj.core.api.Assertions.within(1e-12));
        assertThat(f.getCategoryPreferences().get("new")).isEqualTo(click, org.assertj.core.api.Assertions.within(1e-12));
    }

    @Test
    void dislikeCountsAgainstAndTheVectorIsUnitLength() throws Exception {
        UserFeatures f = apply(on("u1", "a", ActionType.DISLIKE, T0, "c", 7));
        assertThat(f.getCategoryPreferences().get("c")).isNegative();
        double norm = 0;
        for (float x : f.getVectors().get(0).getVector()) {
            norm += x * x;
        }
        assertThat(Math.sqrt(norm)).isCloseTo(1.0, org.assertj.core.api.Assertions.within(1e-5));
        // The user vector points away from a disliked item.
        List<Float> item = vector(7, 8);
        double dot = 0;
        for (int i = 0; i < 8; i++) {
            dot += item.get(i) * f.getVectors().get(0).getVector().get(i);
        }
        assertThat(dot).isNegative();
    }

    @Test
    void countersCoverTheLastHourAndDay() throws Exception {
        apply(on("u1", "a", ActionType.CLICK, T0, "c", 1));
        apply(on("u1", "b", ActionType.VIEW, T0 + 2 * HOUR, "c", 2));
        UserFeatures f = apply(on("u1", "c", ActionType.VIEW, T0 + 2 * HOUR + 60_000, "c", 3));
        assertThat(f.getCountsLastHour()).isEqualTo(Map.of("VIEW", 2));
        assertThat(f.getCountsLastDay()).isEqualTo(Map.of("VIEW", 2, "CLICK", 1));
        f = apply(on("u1", "d", ActionType.LIKE, T0 + 30 * HOUR, "c", 4));
        assertThat(f.getCountsLastDay()).isEqualTo(Map.of("LIKE", 1));
        assertThat(f.getActivity().size()).isLessThanOrEqualTo(UserFeatureMath.HOUR_BUCKETS + UserFeatureMath.DAY_BUCKETS);
    }

    @Test
    void inactiveUsersExpireAfterTheTtlAndActiveOnesStay() throws Exception {
        apply(on("u1", "a", ActionType.CLICK, T0, "c", 1));
        apply(on("u2", "a", ActionType.CLICK, T0, "c", 1));
        harness.setProcessingTime(1_000 + TTL / 2);
        apply(on("u2", "b", ActionType.CLICK, T0 + 1000, "c", 2));
        harness.setProcessingTime(1_000 + TTL + 1);
        // u1 was dropped: its next action starts from scratch. u2 was active within the TTL and keeps its state.
        assertThat(apply(on("u1", "c", ActionType.CLICK, T0 + 5000, "c", 3)).getUpdateSeq()).isEqualTo(1);
        assertThat(apply(on("u2", "c", ActionType.CLICK, T0 + 5000, "c", 3)).getUpdateSeq()).isEqualTo(3);
        harness.setProcessingTime(1_000 + 3 * TTL);
        assertThat(apply(on("u2", "d", ActionType.CLICK, T0 + 6000, "c", 4)).getUpdateSeq()).isEqualTo(1);
    }

    @Test
    void stateSurvivesASnapshotAndRestore() throws Exception {
        apply(on("u1", "a", ActionType.CLICK, T0, "c", 1));
        harness.processElement2(phase("v0", ModelPhase.RETIRED), 0);
        harness.prepareSnapshotPreBarrier(1);
        var snapshot = harness.snapshot(1, 1);
        harness.close();
        harness = newHarness(DELAY, 1000);
        harness.initializeState(snapshot);
        harness.open();
        // The broadcast phases survive too: v0 is still retired, so an item's v0 vector is ignored.
        UserFeatures f = apply(enriched(action("u1", "b", ActionType.CLICK, T0 + 1), "c", List.of(),
                Map.of("v0", vector(5, 8), "v1", vector(6, 8))));
        assertThat(f.getUpdateSeq()).isEqualTo(2);
        assertThat(f.getVectors()).extracting(v -> v.getModelVersion()).containsExactly("v1");
    }

    private static ModelVersion phase(String version, ModelPhase phase) {
        return ModelVersion.newBuilder().setVersion(version).setPhase(phase).setEventTime(T0).build();
    }

    @Test
    void aRetiredVersionIsDroppedFromEveryUserAndIgnoredAfterwards() throws Exception {
        Map<String, List<Float>> both = Map.of("v1", vector(1, 8), "v2", vector(2, 8));
        apply(enriched(action("u1", "a", ActionType.CLICK, T0), "c", List.of(), both));
        apply(enriched(action("u2", "a", ActionType.CLICK, T0), "c", List.of(), both));
        harness.processElement2(phase("v2", ModelPhase.SERVING), 1);
        harness.processElement2(phase("v1", ModelPhase.RETIRED), 2);

        UserFeatures u1 = apply(enriched(action("u1", "b", ActionType.CLICK, T0 + 1), "c", List.of(), both));
        assertThat(u1.getVectors()).extracting(v -> v.getModelVersion()).containsExactly("v2");
        // u2 had no action since: its stored features were slimmed at once (a new action shows it, counting from 2).
        UserFeatures u2 = apply(enriched(action("u2", "b", ActionType.CLICK, T0 + 1), "c", List.of(), Map.of("v2", vector(3, 8))));
        assertThat(u2.getVectors()).extracting(v -> v.getModelVersion()).containsExactly("v2");
        assertThat(u2.getUpdateSeq()).isEqualTo(2);
    }

    @Test
    void aReplayedOlderPhaseNeverBringsARetiredVersionBack() throws Exception {
        Map<String, List<Float>> both = Map.of("v1", vector(1, 8), "v2", vector(2, 8));
        harness.processElement2(phase("v1", ModelPhase.SERVING, T0), 1);
        harness.processElement2(phase("v1", ModelPhase.RETIRED, T0 + 10), 2);
        // The model-versions topic is read again from the start (a restart without state, a replay): the SERVING
        // event is older than the RETIRED one and changes nothing.
        harness.processElement2(phase("v1", ModelPhase.SERVING, T0), 3);

        UserFeatures u1 = apply(enriched(action("u1", "a", ActionType.CLICK, T0), "c", List.of(), both));
        assertThat(u1.getVectors()).extracting(v -> v.getModelVersion()).containsExactly("v2");

        // A newer event of the version still counts.
        harness.processElement2(phase("v1", ModelPhase.SERVING, T0 + 20), 4);
        UserFeatures again = apply(enriched(action("u1", "b", ActionType.CLICK, T0 + 1), "c", List.of(), both));
        assertThat(again.getVectors()).extracting(v -> v.getModelVersion()).containsExactlyInAnyOrder("v1", "v2");
    }

    private static ModelVersion phase(String version, ModelPhase phase, long eventTime) {
        return ModelVersion.newBuilder().setVersion(version).setPhase(phase).setEventTime(eventTime).build();
    }

    // ------------------------------------------------------------------ micro-batches

    /** A random interleaving of several users' actions, some late, some on items with two model versions. */
    private static List<EnrichedAction> randomActions(long seed, int n) {
        Random r = new Random(seed);
        ActionType[] types = {ActionType.VIEW, ActionType.CLICK, ActionType.LIKE, ActionType.DISLIKE, ActionType.RATE};
        List<EnrichedAction> out = new ArrayList<>();
        long t = T0;
        for (int i = 0; i < n; i++) {
            t += r.nextInt(60_000);
            long eventTime = i % 4 == 3 ? t - r.nextInt((int) HOUR) : t;
            out.add(enriched(action("u" + r.nextInt(4), "i" + r.nextInt(20), types[r.nextInt(types.length)],
                    0.5 + r.nextInt(10) / 2.0, eventTime), "c" + r.nextInt(3), List.of("t" + r.nextInt(5)),
                    r.nextBoolean() ? Map.of("v1", vector(r.nextLong(), 8))
                            : Map.of("v1", vector(r.nextLong(), 8), "v2", vector(r.nextLong(), 8))));
        }
        return out;
    }

    /** Gives the batching harness and {@code oneByOne} each its own copy of the action. */
    private void feedBoth(EnrichedAction e, KeyedTwoInputStreamOperatorTestHarness<String, EnrichedAction, ModelVersion,
            UserFeatures> oneByOne) throws Exception {
        harness.processElement1(EnrichedAction.newBuilder(e).build(), e.getAction().getEventTime());
        oneByOne.processElement1(EnrichedAction.newBuilder(e).build(), e.getAction().getEventTime());
    }

    private static Map<String, UserFeatures> latestPerUser(List<UserFeatures> records) {
        Map<String, UserFeatures> latest = new java.util.HashMap<>();
        records.forEach(f -> latest.merge(f.getUserId(), f, (a, b) -> b.getUpdateSeq() > a.getUpdateSeq() ? b : a));
        return latest;
    }

    @Test
    void aBatchEmitsOneRecordPerUserEqualToApplyingItsActionsOneByOne() throws Exception {
        List<EnrichedAction> actions = randomActions(7, 60);
        var oneByOne = openHarness(0, 1000);
        for (EnrichedAction e : actions) {
            feedBoth(e, oneByOne);
        }
        assertThat(oneByOne.extractOutputValues()).hasSize(actions.size());
        assertThat(harness.extractOutputValues()).as("nothing before the batch is flushed").isEmpty();

        harness.setProcessingTime(1_000 + DELAY);
        List<UserFeatures> batched = harness.extractOutputValues();
        Map<String, UserFeatures> expected = latestPerUser(oneByOne.extractOutputValues());
        assertThat(batched).hasSize(expected.size());
        assertThat(latestPerUser(batched)).isEqualTo(expected);
        // updateSeq counts actions, not records: it jumps by the batch's actions.
        expected.forEach((user, f) -> assertThat(f.getUpdateSeq())
                .isEqualTo(actions.stream().filter(a -> a.getAction().getUserId().equals(user)).count()));
        oneByOne.close();
    }

    @Test
    void consecutiveBatchesContinueFromTheStoredFeatures() throws Exception {
        List<EnrichedAction> actions = randomActions(11, 80);
        var oneByOne = openHarness(0, 1000);
        for (int i = 0; i < actions.size(); i++) {
            feedBoth(actions.get(i), oneByOne);
            if (i % 9 == 8) {
                harness.setProcessingTime(harness.getProcessingTime() + DELAY);
                oneByOne.setProcessingTime(harness.getProcessingTime());
            }
        }
        harness.setProcessingTime(harness.getProcessingTime() + DELAY);
        List<UserFeatures> batched = harness.extractOutputValues();
        assertThat(batched.size()).isLessThan(actions.size());
        // Per user, each record's updateSeq is larger than the previous one's, and the last equals one-by-one.
        Map<String, Long> last = new java.util.HashMap<>();
        for (UserFeatures f : batched) {
            assertThat(f.getUpdateSeq()).isGreaterThan(last.getOrDefault(f.getUserId(), 0L));
            last.put(f.getUserId(), f.getUpdateSeq());
        }
        assertThat(latestPerUser(batched)).isEqualTo(latestPerUser(oneByOne.extractOutputValues()));
        oneByOne.close();
    }

    @Test
    void theBatchIsFlushedBeforeTheCheckpointBarrierAndIsInTheSnapshot() throws Exception {
        harness.processElement1(on("u1", "a", ActionType.CLICK, T0, "c", 1), T0);
        harness.processElement1(on("u1", "b", ActionType.LIKE, T0 + 1000, "c", 2), T0 + 1000);
        harness.processElement1(on("u2", "a", ActionType.VIEW, T0 + 2000, "c", 1), T0 + 2000);
        assertThat(harness.extractOutputValues()).isEmpty();

        harness.prepareSnapshotPreBarrier(1); // what the task calls before it forwards the barrier
        assertThat(harness.extractOutputValues()).extracting(UserFeatures::getUserId, UserFeatures::getUpdateSeq)
                .containsExactly(org.assertj.core.groups.Tuple.tuple("u1", 2L), org.assertj.core.groups.Tuple.tuple("u2", 1L));
        var snapshot = harness.snapshot(1, 1);
        harness.close();

        harness = newHarness(DELAY, 1000);
        harness.initializeState(snapshot);
        harness.open();
        harness.setProcessingTime(5_000);
        assertThat(apply(on("u1", "c", ActionType.CLICK, T0 + 3000, "c", 3)).getUpdateSeq()).isEqualTo(3);
        assertThat(apply(on("u2", "c", ActionType.CLICK, T0 + 3000, "c", 3)).getUpdateSeq()).isEqualTo(2);
    }

    @Test
    void aFullBatchAndTheEndOfInputFlush() throws Exception {
        harness.close();
        harness = openHarness(DELAY, 3);
        for (int i = 0; i < 4; i++) {
            harness.processElement1(on("u1", "i" + i, ActionType.CLICK, T0 + i, "c", i), T0 + i);
        }
        assertThat(harness.extractOutputValues()).as("the third action filled the batch")
                .extracting(UserFeatures::getUpdateSeq).containsExactly(3L);
        harness.endInput1();
        harness.endInput2();
        harness.getOperator().finish();
        assertThat(harness.extractOutputValues()).extracting(UserFeatures::getUpdateSeq).containsExactly(3L, 4L);
    }

    @Test
    void aWatermarkIsForwardedAfterTheRecordsOfTheBatchItArrivedIn() throws Exception {
        harness.processElement1(on("u1", "a", ActionType.CLICK, T0, "c", 1), T0);
        harness.processBothWatermarks(new Watermark(T0));
        assertThat(harness.getOutput()).isEmpty();
        harness.setProcessingTime(harness.getProcessingTime() + DELAY);
        assertThat(new ArrayList<>(harness.getOutput())).hasSize(2)
                .satisfies(out -> {
                    assertThat(out.get(0)).isInstanceOf(StreamRecord.class);
                    assertThat(out.get(1)).isEqualTo(new Watermark(T0));
                });
        // With no batch open, a watermark passes at once.
        harness.processBothWatermarks(new Watermark(T0 + 1));
        assertThat(new ArrayList<>(harness.getOutput())).last().isEqualTo(new Watermark(T0 + 1));
    }

    @Test
    void aRetirementWhileABatchIsOpenAppliesToThatBatchToo() throws Exception {
        Map<String, List<Float>> both = Map.of("v1", vector(1, 8), "v2", vector(2, 8));
        harness.processElement1(enriched(action("u1", "a", ActionType.CLICK, T0), "c", List.of(), both), T0);
        harness.processElement2(phase("v1", ModelPhase.RETIRED), 1);
        // The batch was flushed first (with v1: it was applied before the retirement), then v1 left the stored state.
        assertThat(harness.extractOutputValues()).hasSize(1);
        UserFeatures next = apply(enriched(action("u1", "b", ActionType.CLICK, T0 + 1), "c", List.of(), both));
        assertThat(next.getVectors()).extracting(v -> v.getModelVersion()).containsExactly("v2");
        assertThat(next.getUpdateSeq()).isEqualTo(2);
    }
}
