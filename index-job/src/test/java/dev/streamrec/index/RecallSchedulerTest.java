package dev.streamrec.index;

import static dev.streamrec.index.IndexFixtures.T0;
import static dev.streamrec.index.IndexFixtures.features;
import static dev.streamrec.index.IndexFixtures.phase;
import static dev.streamrec.index.IndexFixtures.trigger;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;

import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.streaming.api.operators.co.CoBroadcastWithKeyedOperator;
import org.apache.flink.streaming.util.KeyedBroadcastOperatorTestHarness;
import org.apache.flink.types.Either;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import dev.streamrec.avro.DeadLetter;
import dev.streamrec.avro.IndexControl;
import dev.streamrec.avro.ModelPhase;
import dev.streamrec.avro.ModelVersion;
import dev.streamrec.avro.RecallRefill;
import dev.streamrec.avro.RecallRequest;
import dev.streamrec.avro.SeenExclusion;
import dev.streamrec.avro.TriggerVector;
import dev.streamrec.avro.UserFeatures;
import dev.streamrec.jobs.ModelVersions;
import dev.streamrec.jobs.config.JobConfig;
import dev.streamrec.jobs.io.DeadLetters;

class RecallSchedulerTest {
    private static final long DEBOUNCE = 1000;
    private static final int SWITCH_RATE = 100;
    private static final long ITEM_BATCH = 500;
    private static final RecallSettings SETTINGS = RecallSettings.from(JobConfig.parse("index-job", IndexOptions.ALL,
            "--index.vector-dimension", "2", "--recall.debounce.ms", String.valueOf(DEBOUNCE),
            "--recall.switch.rate", String.valueOf(SWITCH_RATE), "--recall.item-batch.ms", String.valueOf(ITEM_BATCH),
            "--recall.max-excluded-items", "3"));
    private KeyedBroadcastOperatorTestHarness<String, Either<UserFeatures, RecallRefill>, IndexControl, RecallRequest> h;

    @BeforeEach
    void setUp() throws Exception {
        h = new KeyedBroadcastOperatorTestHarness<>(
                new CoBroadcastWithKeyedOperator<>(new RecallScheduler(SETTINGS, "index-job", "user-features"),
                        List.of(ModelVersions.STATE, RecallScheduler.VERSIONS_WITH_ITEMS)),
                RecallScheduler::userOf, Types.STRING, 128, 1, 0);
        h.open();
        h.setProcessingTime(T0);
        // The index of v1 and v2 has items unless a test says otherwise.
        h.processBroadcastElement(itemsOf("v1", "v2"), 0);
    }

    private static IndexControl control(ModelVersion event) {
        return IndexControl.newBuilder().setModelVersion(event).build();
    }

    private static IndexControl itemsOf(String... versions) {
        return IndexControl.newBuilder().setVersionsWithNewItems(List.of(versions)).setBatchedAt(T0).build();
    }

    @AfterEach
    void tearDown() throws Exception {
        h.close();
    }

    private void send(UserFeatures features) throws Exception {
        h.processElement(Either.Left(features), 0);
    }

    private static UserFeatures user(String id, float x, String... versions) {
        Map<String, float[]> vectors = new java.util.LinkedHashMap<>();
        for (String v : versions) {
            vectors.put(v, new float[] {x, 1 - x});
        }
        return features(id, vectors, List.of(
                trigger("i9", 1, T0 + 9), trigger("i8", -4, T0 + 8), trigger("i9", 2, T0 + 7), trigger("i7", 1, T0 + 6),
                trigger("i6", 1, T0 + 5), trigger("i5", 1, T0 + 4), trigger("i4", 1, T0 + 3), trigger("i3", 1, T0 + 2)), T0 + 9);
    }

    /** The user's v1 features as of a later action (event time {@code lastEventTime}). */
    private static UserFeatures userAt(String id, float x, long lastEventTime) {
        UserFeatures f = user(id, x, "v1");
        f.setLastEventTime(lastEventTime);
        return f;
    }

    /** dedup-job's refill for a recall of event time {@code sourceEventTime}, excluding each item until its time. */
    private void refill(String user, long sourceEventTime, SeenExclusion... excluded) throws Exception {
        h.processElement(Either.Right(new RecallRefill(user, List.of(excluded), 3, 50, T0, sourceEventTime)), 0);
    }

    private static SeenExclusion seen(String item, long until) {
        return new SeenExclusion(item, until);
    }

    private Map<String, Long> refillCounts() {
        return ((RecallScheduler) ((CoBroadcastWithKeyedOperator<?, ?, ?, ?>) h.getOperator()).getUserFunction()).refillCounts();
    }

    @Test
    void aBurstOfUpdatesCostsOneRequestFromTheLatestFeatures() throws Exception {
        send(user("u1", 0.1f, "v1"));
        h.setProcessingTime(T0 + 300);
        send(user("u1", 0.2f, "v1"));
        send(user("u2", 0.5f, "v1"));
        h.setProcessingTime(T0 + 900);
        send(user("u1", 0.3f, "v1"));
        assertThat(h.extractOutputValues()).isEmpty();

        h.setProcessingTime(T0 + DEBOUNCE);
        List<RecallRequest> out = h.extractOutputValues();
        assertThat(out).hasSize(1);
        RecallRequest r = out.get(0);
        assertThat(r.getUserId()).isEqualTo("u1");
        assertThat(AvroVectors.fromBytes(r.getUserVector())).containsExactly(0.3f, 0.7f);
        assertThat(r.getModelVersion()).isEqualTo("v1");
        assertThat(r.getSourceEventTime()).isEqualTo(T0 + 9);
        // Seeds: the 5 most recent distinct items with a positive weight (the disliked i8 is not a seed).
        assertThat(r.getTriggerItems()).containsExactly("i9", "i7", "i6", "i5", "i4");
        assertThat(r.getExcludedItems()).containsExactlyInAnyOrder("i9", "i8", "i7", "i6", "i5", "i4", "i3");
        assertThat(h.getSideOutput(RecallScheduler.LOOKUPS)).extracting(rec -> ((TriggerVector) rec.getValue()).getItemId())
                .containsExactly("i9", "i7", "i6", "i5", "i4");

        h.setProcessingTime(T0 + 300 + DEBOUNCE);
        assertThat(h.extractOutputValues()).extracting(RecallRequest::getUserId).containsExactly("u1", "u2");
    }

    @Test
    void anUpdateThatLeavesTheVectorsAloneAsksForNothing() throws Exception {
        send(user("u1", 0.1f, "v1"));
        h.setProcessingTime(T0 + DEBOUNCE);
        send(user("u1", 0.1f, "v1"));
        h.setProcessingTime(T0 + 3 * DEBOUNCE);
        assertThat(h.extractOutputValues()).hasSize(1);
        send(user("u1", 0.4f, "v1"));
        h.setProcessingTime(T0 + 5 * DEBOUNCE);
        List<RecallRequest> out = h.extractOutputValues();
        assertThat(out).hasSize(2);
        assertThat(out.get(1).getRequestId()).isGreaterThan(out.get(0).getRequestId());
    }

    @Test
    void aReplayedOlderPhaseChangesNothing() throws Exception {
        h.processBroadcastElement(control(phase("v2", ModelPhase.SERVING, T0 + 1)), 0);
        h.processBroadcastElement(control(phase("v2", ModelPhase.RETIRED, T0 + 2)), 0);
        // model-versions read again from the start: the older SERVING must not bring v2 back.
        h.processBroadcastElement(control(phase("v2", ModelPhase.SERVING, T0 + 1)), 0);
        send(user("u1", 0.1f, "v1", "v2"));
        h.setProcessingTime(T0 + DEBOUNCE);
        assertThat(h.extractOutputValues()).extracting(r -> r.getUserId() + "@" + r.getModelVersion())
                .containsExactly("u1@v1");
    }

    @Test
    void aUserStaysOnTheOldVersionUntilTheyHaveAVectorOfTheNewOne() throws Exception {
        h.processBroadcastElement(control(phase("v2", ModelPhase.LOADING, T0)), 0);
        send(user("u1", 0.1f, "v1", "v2"));
        h.setProcessingTime(T0 + DEBOUNCE);
        // u1 has a v2 vector: the switch recomputes their recall from it without a new action.
        h.processBroadcastElement(control(phase("v2", ModelPhase.SERVING, T0 + 1)), 0);
        send(user("u1", 0.2f, "v1")); // no v2 vector yet
        send(user("u2", 0.2f, "v1", "v2"));
        h.setProcessingTime(T0 + 2 * DEBOUNCE);
        // v1 is gone: u1, who has no v2 vector, follows to v2 (i2i only).
        h.processBroadcastElement(control(phase("v1", ModelPhase.RETIRED, T0 + 2)), 0);
        send(user("u1", 0.3f, "v1"));
        h.setProcessingTime(T0 + 3 * DEBOUNCE);
        List<RecallRequest> out = h.extractOutputValues();
        assertThat(out).extracting(r -> r.getUserId() + "@" + r.getModelVersion() + (r.getNotBefore() > 0 ? " (follow-up)" : ""))
                .containsExactly("u1@v1", "u1@v2 (follow-up)", "u1@v1", "u2@v2", "u1@v2 (follow-up)", "u1@v2");
        assertThat(out.get(1).getNotBefore()).as("the first follow-up leaves after one item batch")
                .isEqualTo(T0 + DEBOUNCE + ITEM_BATCH);
        assertThat(AvroVectors.isEmpty(out.get(5).getUserVector())).isTrue();
    }

    @Test
    void aSwitchRecomputesEveryUserWithAVectorOfTheNewVersionSpreadAtTheSwitchRate() throws Exception {
        h.processBroadcastElement(control(phase("v2", ModelPhase.LOADING, T0)), 0);
        for (int i = 0; i < 5; i++) {
            send(user("u" + i, 0.1f * i, "v1", "v2"));
        }
        send(user("only-v1", 0.5f, "v1"));
        h.setProcessingTime(T0 + DEBOUNCE);
        assertThat(h.extractOutputValues()).hasSize(6).allSatisfy(r -> assertThat(r.getModelVersion()).isEqualTo("v1"));

        h.processBroadcastElement(control(phase("v2", ModelPhase.SERVING, T0 + 1)), 0);
        List<RecallRequest> followUps = h.extractOutputValues().subList(6, h.extractOutputValues().size());
        assertThat(followUps).extracting(RecallRequest::getUserId).containsExactlyInAnyOrder("u0", "u1", "u2", "u3", "u4");
        assertThat(followUps).allSatisfy(r -> assertThat(r.getModelVersion()).isEqualTo("v2"));
        long spacing = 1000 / SWITCH_RATE;
        assertThat(followUps).extracting(RecallRequest::getNotBefore).containsExactly(
                T0 + DEBOUNCE + ITEM_BATCH, T0 + DEBOUNCE + ITEM_BATCH + spacing, T0 + DEBOUNCE + ITEM_BATCH + 2 * spacing,
                T0 + DEBOUNCE + ITEM_BATCH + 3 * spacing, T0 + DEBOUNCE + ITEM_BATCH + 4 * spacing);
        // The same vector again is still no reason for a request: the follow-up already switched them.
        send(user("u1", 0.1f, "v1", "v2"));
        h.setProcessingTime(T0 + 3 * DEBOUNCE);
        assertThat(h.extractOutputValues()).hasSize(11);
        // A replayed SERVING event switches nobody twice.
        h.processBroadcastElement(control(phase("v2", ModelPhase.SERVING, T0 + 1)), 0);
        assertThat(h.extractOutputValues()).hasSize(11);
    }

    @Test
    void recallComputedWhileItsVersionsIndexWasEmptyIsRecomputedWhenItGainsItems() throws Exception {
        send(user("u1", 0.1f, "v3")); // v3: no items seen yet
        send(user("u2", 0.1f, "v1"));
        h.processBroadcastElement(control(phase("v3", ModelPhase.SERVING, T0)), 0);
        h.setProcessingTime(T0 + DEBOUNCE);
        assertThat(h.extractOutputValues()).extracting(r -> r.getUserId() + "@" + r.getModelVersion())
                .containsExactly("u1@v3", "u2@v1");
        h.processBroadcastElement(itemsOf("v3"), 0);
        assertThat(h.extractOutputValues()).extracting(r -> r.getUserId() + "@" + r.getModelVersion())
                .containsExactly("u1@v3", "u2@v1", "u1@v3");
        h.processBroadcastElement(itemsOf("v3"), 0); // more items: the index was not empty any more
        assertThat(h.extractOutputValues()).hasSize(3);
    }

    @Test
    void aUserVectorThatDoesNotFitItsVersionIsADeadLetterAndAsksForNothing() throws Exception {
        h.processBroadcastElement(control(new ModelVersion("v5", ModelPhase.SERVING, null, 3, T0)), 0);
        send(user("u1", 0.1f, "v5")); // 2 values, v5 declares 3
        send(user("u2", 0f, "v1"));
        UserFeatures zeros = user("u3", 0f, "v1");
        zeros.getVectors().get(0).setVector(List.of(0f, 0f));
        send(zeros);
        h.setProcessingTime(T0 + DEBOUNCE);
        assertThat(h.extractOutputValues()).extracting(RecallRequest::getUserId).containsExactly("u2");
        assertThat(h.getSideOutput(DeadLetters.TAG)).extracting(r -> ((DeadLetter) r.getValue()).getReason()).containsExactly(
                "bad-vector: vector of model version v5 has dimension 2, expected 3",
                "bad-vector: vector of model version v1 has zero length");
    }

    @Test
    void aRefillRecomputesAtOnceWithoutTheSeenItems() throws Exception {
        send(user("u1", 0.1f, "v1"));
        h.setProcessingTime(T0 + DEBOUNCE);
        assertThat(h.extractOutputValues()).singleElement().satisfies(r -> assertThat(r.getSeenItems()).isEmpty());
        int lookups = h.getSideOutput(RecallScheduler.LOOKUPS).size();

        // b may come back from T0 + 5: the recall that ran short (T0 + 9) could hold it already.
        refill("u1", T0 + 9, seen("a", T0 + 100), seen("b", T0 + 5), seen("c", T0 + 50));
        List<RecallRequest> out = h.extractOutputValues();
        assertThat(out).as("a request at once, without a debounce").hasSize(2);
        RecallRequest r = out.get(1);
        assertThat(r.getSeenItems()).containsExactly("a", "c");
        assertThat(r.getRequestId()).isGreaterThan(out.get(0).getRequestId());
        assertThat(r.getNotBefore()).isZero();
        assertThat(r.getModelVersion()).isEqualTo("v1");
        assertThat(AvroVectors.fromBytes(r.getUserVector())).containsExactly(0.1f, 0.9f);
        assertThat(r.getSourceEventTime()).isEqualTo(T0 + 9);
        assertThat(r.getTriggerItems()).containsExactly("i9", "i7", "i6", "i5", "i4");
        assertThat(h.getSideOutput(RecallScheduler.LOOKUPS)).as("the seeds' lookups of the refill's request")
                .hasSize(lookups + 5);
        assertThat(refillCounts()).containsExactlyInAnyOrderEntriesOf(
                Map.of("refillsReceived", 1L, "refillRequests", 1L, "refillsWithoutFeatures", 0L));
    }

    @Test
    void exclusionsMergeAcrossRefillsExpireByEventTimeAreCappedAndStayOnLaterRequests() throws Exception {
        send(user("u1", 0.1f, "v1"));
        h.setProcessingTime(T0 + DEBOUNCE);
        refill("u1", T0 + 9, seen("a", T0 + 100), seen("b", T0 + 30));
        // b again with a later time; e already past; four left, the cap (3) keeps those with the latest times.
        refill("u1", T0 + 9, seen("b", T0 + 200), seen("c", T0 + 20), seen("d", T0 + 40), seen("e", T0 + 9));
        List<RecallRequest> out = h.extractOutputValues();
        assertThat(out).extracting(RecallRequest::getSeenItems)
                .containsExactly(List.of(), List.of("a", "b"), List.of("b", "a", "d"));

        // A later action: its debounced request still excludes what is not due yet at its event time (d is due at 40).
        send(userAt("u1", 0.2f, T0 + 60));
        h.setProcessingTime(T0 + 2 * DEBOUNCE);
        out = h.extractOutputValues();
        assertThat(out).hasSize(4);
        assertThat(out.get(3).getSourceEventTime()).isEqualTo(T0 + 60);
        assertThat(out.get(3).getSeenItems()).containsExactly("b", "a");

        // The next action, then a refill for a recall of T0 + 150: a (due at 100) leaves the stored exclusions.
        send(userAt("u1", 0.3f, T0 + 160));
        h.setProcessingTime(T0 + 3 * DEBOUNCE);
        refill("u1", T0 + 150, seen("f", T0 + 150));
        out = h.extractOutputValues();
        assertThat(out).hasSize(6);
        assertThat(out.get(4).getSeenItems()).containsExactly("b");
        assertThat(out.get(5).getSeenItems()).as("the refill's request").containsExactly("b");
        assertThat(refillCounts()).containsEntry("refillsReceived", 3L).containsEntry("refillRequests", 3L);
    }

    @Test
    void aRefillWhileADebouncedRequestIsPendingIsServedByThatRequest() throws Exception {
        send(user("u1", 0.1f, "v1"));
        h.setProcessingTime(T0 + 200);
        refill("u1", T0 + 9, seen("a", T0 + 100));
        assertThat(h.extractOutputValues()).isEmpty();
        h.setProcessingTime(T0 + DEBOUNCE);
        assertThat(h.extractOutputValues()).singleElement()
                .satisfies(r -> assertThat(r.getSeenItems()).containsExactly("a"));
        assertThat(refillCounts()).containsEntry("refillsReceived", 1L).containsEntry("refillRequests", 0L);
    }

    @Test
    void aRefillForAUserWithoutFeaturesIsCountedAndIssuesNothing() throws Exception {
        refill("nobody", T0 + 9, seen("a", T0 + 100));
        h.setProcessingTime(T0 + 2 * DEBOUNCE);
        assertThat(h.extractOutputValues()).isEmpty();
        assertThat(h.getSideOutput(RecallScheduler.LOOKUPS)).isNullOrEmpty();
        assertThat(refillCounts()).containsExactlyInAnyOrderEntriesOf(
                Map.of("refillsReceived", 1L, "refillRequests", 0L, "refillsWithoutFeatures", 1L));
        // The exclusions are kept: the user's first request leaves a out.
        send(user("nobody", 0.1f, "v1"));
        h.setProcessingTime(T0 + 3 * DEBOUNCE);
        assertThat(h.extractOutputValues()).singleElement()
                .satisfies(r -> assertThat(r.getSeenItems()).containsExactly("a"));
    }

    @Test
    void aFollowUpAfterAVersionSwitchCarriesTheSeenItems() throws Exception {
        h.processBroadcastElement(control(phase("v2", ModelPhase.LOADING, T0)), 0);
        send(user("u1", 0.1f, "v1", "v2"));
        h.setProcessingTime(T0 + DEBOUNCE);
        refill("u1", T0 + 9, seen("a", T0 + 100));
        h.processBroadcastElement(control(phase("v2", ModelPhase.SERVING, T0 + 1)), 0);
        assertThat(h.extractOutputValues()).extracting(r -> r.getModelVersion() + " " + r.getSeenItems())
                .containsExactly("v1 []", "v1 [a]", "v2 [a]");
    }
}
