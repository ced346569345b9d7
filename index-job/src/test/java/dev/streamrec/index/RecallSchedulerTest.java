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
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import dev.streamrec.avro.DeadLetter;
import dev.streamrec.avro.IndexControl;
import dev.streamrec.avro.ModelPhase;
import dev.streamrec.avro.ModelVersion;
import dev.streamrec.avro.RecallRequest;
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
            "--recall.switch.rate", String.valueOf(SWITCH_RATE), "--recall.item-batch.ms", String.valueOf(ITEM_BATCH)));
    private KeyedBroadcastOperatorTestHarness<String, UserFeatures, IndexControl, RecallRequest> h;

    @BeforeEach
    void setUp() throws Exception {
        h = new KeyedBroadcastOperatorTestHarness<>(
                new CoBroadcastWithKeyedOperator<>(new RecallScheduler(SETTINGS, "index-job", "user-features"),
                        List.of(ModelVersions.STATE, RecallScheduler.VERSIONS_WITH_ITEMS)),
                UserFeatures::getUserId, Types.STRING, 128, 1, 0);
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

    private static UserFeatures user(String id, float x, String... versions) {
        Map<String, float[]> vectors = new java.util.LinkedHashMap<>();
        for (String v : versions) {
            vectors.put(v, new float[] {x, 1 - x});
        }
        return features(id, vectors, List.of(
                trigger("i9", 1, T0 + 9), trigger("i8", -4, T0 + 8), trigger("i9", 2, T0 + 7), trigger("i7", 1, T0 + 6),
                trigger("i6", 1, T0 + 5), trigger("i5", 1, T0 + 4), trigger("i4", 1, T0 + 3), trigger("i3", 1, T0 + 2)), T0 + 9);
    }

    @Test
    void aBurstOfUpdatesCostsOneRequestFromTheLatestFeatures() throws Exception {
        h.processElement(user("u1", 0.1f, "v1"), 0);
        h.setProcessingTime(T0 + 300);
        h.processElement(user("u1", 0.2f, "v1"), 0);
        h.processElement(user("u2", 0.5f, "v1"), 0);
        h.setProcessingTime(T0 + 900);
        h.processElement(user("u1", 0.3f, "v1"), 0);
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
        h.processElement(user("u1", 0.1f, "v1"), 0);
        h.setProcessingTime(T0 + DEBOUNCE);
        h.processElement(user("u1", 0.1f, "v1"), 0);
        h.setProcessingTime(T0 + 3 * DEBOUNCE);
        assertThat(h.extractOutputValues()).hasSize(1);
        h.processElement(user("u1", 0.4f, "v1"), 0);
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
        h.processElement(user("u1", 0.1f, "v1", "v2"), 0);
        h.setProcessingTime(T0 + DEBOUNCE);
        assertThat(h.extractOutputValues()).extracting(r -> r.getUserId() + "@" + r.getModelVersion())
                .containsExactly("u1@v1");
    }

    @Test
    void aUserStaysOnTheOldVersionUntilTheyHaveAVectorOfTheNewOne() throws Exception {
        h.processBroadcastElement(control(phase("v2", ModelPhase.LOADING, T0)), 0);
        h.processElement(user("u1", 0.1f, "v1", "v2"), 0);
        h.setProcessingTime(T0 + DEBOUNCE);
        // u1 has a v2 vector: the switch recomputes their recall from it without a new action.
        h.processBroadcastElement(control(phase("v2", ModelPhase.SERVING, T0 + 1)), 0);
        h.processElement(user("u1", 0.2f, "v1"), 0); // no v2 vector yet
        h.processElement(user("u2", 0.2f, "v1", "v2"), 0);
        h.setProcessingTime(T0 + 2 * DEBOUNCE);
        // v1 is gone: u1, who has no v2 vector, follows to v2 (i2i only).
        h.processBroadcastElement(control(phase("v1", ModelPhase.RETIRED, T0 + 2)), 0);
        h.processElement(user("u1", 0.3f, "v1"), 0);
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
            h.processElement(user("u" + i, 0.1f * i, "v1", "v2"), 0);
        }
        h.processElement(user("only-v1", 0.5f, "v1"), 0);
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
        h.processElement(user("u1", 0.1f, "v1", "v2"), 0);
        h.setProcessingTime(T0 + 3 * DEBOUNCE);
        assertThat(h.extractOutputValues()).hasSize(11);
        // A replayed SERVING event switches nobody twice.
        h.processBroadcastElement(control(phase("v2", ModelPhase.SERVING, T0 + 1)), 0);
        assertThat(h.extractOutputValues()).hasSize(11);
    }

    @Test
    void recallComputedWhileItsVersionsIndexWasEmptyIsRecomputedWhenItGainsItems() throws Exception {
        h.processElement(user("u1", 0.1f, "v3"), 0); // v3: no items seen yet
        h.processElement(user("u2", 0.1f, "v1"), 0);
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
        h.processElement(user("u1", 0.1f, "v5"), 0); // 2 values, v5 declares 3
        h.processElement(user("u2", 0f, "v1"), 0);
        UserFeatures zeros = user("u3", 0f, "v1");
        zeros.getVectors().get(0).setVector(List.of(0f, 0f));
        h.processElement(zeros, 0);
        h.setProcessingTime(T0 + DEBOUNCE);
        assertThat(h.extractOutputValues()).extracting(RecallRequest::getUserId).containsExactly("u2");
        assertThat(h.getSideOutput(DeadLetters.TAG)).extracting(r -> ((DeadLetter) r.getValue()).getReason()).containsExactly(
                "bad-vector: vector of model version v5 has dimension 2, expected 3",
                "bad-vector: vector of model version v1 has zero length");
    }
}
