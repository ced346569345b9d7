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
import org.apache.flink.streaming.api.operators.co.CoBroadcastWithKeyedOperator;
import org.apache.flink.streaming.util.KeyedBroadcastOperatorTestHarness;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import dev.streamrec.avro.ActionType;
import dev.streamrec.avro.EnrichedAction;
import dev.streamrec.avro.ModelPhase;
import dev.streamrec.avro.ModelVersion;
import dev.streamrec.avro.UserFeatures;

class UserFeatureUpdaterTest {
    private static final long HOUR = 3_600_000L;
    private static final long TTL = 30L * 24 * HOUR;
    private final FeatureParams params = FeatureParams.defaults().withMaxTriggers(5);
    private KeyedBroadcastOperatorTestHarness<String, EnrichedAction, ModelVersion, UserFeatures> harness;

    @BeforeEach
    void setUp() throws Exception {
        harness = newHarness();
        harness.open();
        harness.setProcessingTime(1_000);
    }

    private KeyedBroadcastOperatorTestHarness<String, EnrichedAction, ModelVersion, UserFeatures> newHarness() throws Exception {
        return new KeyedBroadcastOperatorTestHarness<>(
                new CoBroadcastWithKeyedOperator<>(new UserFeatureUpdater(params, TTL), List.of(UserFeatureUpdater.MODEL_PHASES)),
                e -> e.getAction().getUserId(), Types.STRING, 1, 1, 0);
    }

    @AfterEach
    void tearDown() throws Exception {
        harness.close();
    }

    private UserFeatures apply(EnrichedAction e) throws Exception {
        harness.processElement(e, e.getAction().getEventTime());
        List<UserFeatures> out = harness.extractOutputValues();
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
        harness.watermark(T0 + 20_000);
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
        harness.processBroadcastElement(phase("v0", ModelPhase.RETIRED), 0);
        var snapshot = harness.snapshot(1, 1);
        harness.close();
        harness = newHarness();
        harness.initializeState(snapshot);
        harness.open();
        assertThat(apply(on("u1", "b", ActionType.CLICK, T0 + 1, "c", 2)).getUpdateSeq()).isEqualTo(2);
        assertThat(harness.getBroadcastState(UserFeatureUpdater.MODEL_PHASES).get("v0")).isEqualTo("RETIRED");
    }

    private static ModelVersion phase(String version, ModelPhase phase) {
        return ModelVersion.newBuilder().setVersion(version).setPhase(phase).setEventTime(T0).build();
    }

    @Test
    void aRetiredVersionIsDroppedFromEveryUserAndIgnoredAfterwards() throws Exception {
        Map<String, List<Float>> both = Map.of("v1", vector(1, 8), "v2", vector(2, 8));
        apply(enriched(action("u1", "a", ActionType.CLICK, T0), "c", List.of(), both));
        apply(enriched(action("u2", "a", ActionType.CLICK, T0), "c", List.of(), both));
        harness.processBroadcastElement(phase("v2", ModelPhase.SERVING), 1);
        harness.processBroadcastElement(phase("v1", ModelPhase.RETIRED), 2);

        UserFeatures u1 = apply(enriched(action("u1", "b", ActionType.CLICK, T0 + 1), "c", List.of(), both));
        assertThat(u1.getVectors()).extracting(v -> v.getModelVersion()).containsExactly("v2");
        // u2 had no action since: its stored features were slimmed at once (a new action shows it, counting from 2).
        UserFeatures u2 = apply(enriched(action("u2", "b", ActionType.CLICK, T0 + 1), "c", List.of(), Map.of("v2", vector(3, 8))));
        assertThat(u2.getVectors()).extracting(v -> v.getModelVersion()).containsExactly("v2");
        assertThat(u2.getUpdateSeq()).isEqualTo(2);
    }
}
