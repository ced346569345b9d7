package dev.streamrec.jobs;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

import org.junit.jupiter.api.Test;

import dev.streamrec.avro.ModelPhase;
import dev.streamrec.avro.ModelVersion;

class ModelVersionsTest {
    static ModelVersion event(String version, ModelPhase phase, long time) {
        return ModelVersion.newBuilder().setVersion(version).setPhase(phase).setEventTime(time).build();
    }

    static ModelVersion declared(String version, ModelPhase phase, Integer dimension, long time) {
        return ModelVersion.newBuilder(event(version, phase, time)).setDimension(dimension).build();
    }

    @Test
    void aServingEventWithoutDimensionKeepsTheOneDeclaredAtLoading() {
        ModelVersion loading = declared("v2", ModelPhase.LOADING, 10, 1);
        ModelVersion serving = event("v2", ModelPhase.SERVING, 2);
        assertThat(ModelVersions.conflict(loading, serving)).isNull();
        ModelVersion stored = ModelVersions.merged(loading, serving);
        assertThat(stored.getPhase()).isEqualTo(ModelPhase.SERVING);
        assertThat(ModelVersions.dimensionOf(stored, 64)).isEqualTo(10);
        assertThat(serving.getDimension()).as("the event itself is not changed").isNull();
    }

    @Test
    void aLaterEventDeclaringAnotherDimensionConflicts() {
        ModelVersion loading = declared("v2", ModelPhase.LOADING, 10, 1);
        assertThat(ModelVersions.conflict(loading, declared("v2", ModelPhase.SERVING, 10, 2))).isNull();
        assertThat(ModelVersions.conflict(loading, declared("v2", ModelPhase.SERVING, 32, 2)))
                .contains("declares dimension 32").contains("dimension 10");
        assertThat(ModelVersions.conflict(event("v2", ModelPhase.LOADING, 1), declared("v2", ModelPhase.SERVING, 32, 2)))
                .as("a first declaration at SERVING is taken").isNull();
        assertThat(ModelVersions.conflict(null, declared("v2", ModelPhase.SERVING, 32, 2))).isNull();
    }

    @Test
    void anOlderEventOfAVersionIsNotNewer() {
        ModelVersion retired = event("v1", ModelPhase.RETIRED, 20);
        assertThat(ModelVersions.isNewer(null, retired)).isTrue();
        assertThat(ModelVersions.isNewer(retired, event("v1", ModelPhase.SERVING, 10))).isFalse();
        assertThat(ModelVersions.isNewer(retired, event("v1", ModelPhase.SERVING, 30))).isTrue();
    }

    @Test
    void theNewestServingVersionTheUserHasAVectorOfServes() {
        Map<String, ModelVersion> known = new LinkedHashMap<>();
        assertThat(ModelVersions.servingVersionFor(known.entrySet(), "v1", Set.of("v1"))).isEqualTo("v1");
        known.put("v2", event("v2", ModelPhase.SERVING, 10));
        assertThat(ModelVersions.servingVersionFor(known.entrySet(), "v1", Set.of("v1", "v2"))).isEqualTo("v2");
        assertThat(ModelVersions.servingVersionFor(known.entrySet(), "v1", Set.of("v1"))).as("no v2 vector yet").isEqualTo("v1");
        known.put("v1", event("v1", ModelPhase.RETIRED, 20));
        assertThat(ModelVersions.servingVersionFor(known.entrySet(), "v1", Set.of("v1"))).as("v1 gone").isEqualTo("v2");
    }
}
