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

import dev.streamrec.avro.ModelPhase;
import dev.streamrec.avro.ModelVersion;
import dev.streamrec.avro.RecallRequest;
import dev.streamrec.avro.TriggerVector;
import dev.streamrec.avro.UserFeatures;
import dev.streamrec.jobs.ModelVersions;

class RecallSchedulerTest {
    private static final long DEBOUNCE = 1000;
    private KeyedBroadcastOperatorTestHarness<String, UserFeatures, ModelVersion, RecallRequest> h;

    @BeforeEach
    void setUp() throws Exception {
        h = new KeyedBroadcastOperatorTestHarness<>(
                new CoBroadcastWithKeyedOperator<>(new RecallScheduler(RecallSettings.defaults().withDebounceMs(DEBOUNCE)),
                        List.of(ModelVersions.STATE)),
                UserFeatures::getUserId, Types.STRING, 128, 1, 0);
        h.open();
        h.setProcessingTime(T0);
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
        h.processBroadcastElement(phase("v2", ModelPhase.SERVING, T0 + 1), 0);
        h.processBroadcastElement(phase("v2", ModelPhase.RETIRED, T0 + 2), 0);
        // model-versions read again from the start: the older SERVING must not bring v2 back.
        h.processBroadcastElement(phase("v2", ModelPhase.SERVING, T0 + 1), 0);
        h.processElement(user("u1", 0.1f, "v1", "v2"), 0);
        h.setProcessingTime(T0 + DEBOUNCE);
        assertThat(h.extractOutputValues()).extracting(r -> r.getUserId() + "@" + r.getModelVersion())
                .containsExactly("u1@v1");
    }

    @Test
    void aUserStaysOnTheOldVersionUntilTheyHaveAVectorOfTheNewOne() throws Exception {
        h.processBroadcastElement(phase("v2", ModelPhase.LOADING, T0), 0);
        h.processElement(user("u1", 0.1f, "v1", "v2"), 0);
        h.setProcessingTime(T0 + DEBOUNCE);
        h.processBroadcastElement(phase("v2", ModelPhase.SERVING, T0 + 1), 0);
        h.processElement(user("u1", 0.2f, "v1"), 0); // no v2 vector yet
        h.processElement(user("u2", 0.2f, "v1", "v2"), 0);
        h.setProcessingTime(T0 + 2 * DEBOUNCE);
        h.processBroadcastElement(phase("v1", ModelPhase.RETIRED, T0 + 2), 0);
        h.processElement(user("u1", 0.3f, "v1"), 0); // still none, but v1 is gone: v2 (i2i only)
        h.setProcessingTime(T0 + 3 * DEBOUNCE);
        List<RecallRequest> out = h.extractOutputValues();
        assertThat(out).extracting(r -> r.getUserId() + "@" + r.getModelVersion())
                .containsExactly("u1@v1", "u1@v1", "u2@v2", "u1@v2");
        assertThat(AvroVectors.isEmpty(out.get(3).getUserVector())).isTrue();
    }
}
