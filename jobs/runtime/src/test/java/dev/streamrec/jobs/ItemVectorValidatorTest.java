package dev.streamrec.jobs;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.streaming.util.KeyedBroadcastOperatorTestHarness;
import org.apache.flink.streaming.util.ProcessFunctionTestHarnesses;
import org.junit.jupiter.api.Test;

import dev.streamrec.avro.DeadLetter;
import dev.streamrec.avro.ItemEmbedding;
import dev.streamrec.avro.ItemStatus;
import dev.streamrec.avro.ModelPhase;
import dev.streamrec.avro.ModelVersion;
import dev.streamrec.jobs.io.DeadLetters;
import dev.streamrec.jobs.io.RawRecord;
import dev.streamrec.jobs.io.Tombstones;
import dev.streamrec.schemas.AvroSingleObjectSerde;

/** The per-version item checks through the keyed broadcast harness: dimensions per version, waiting, conflicts. */
class ItemVectorValidatorTest {
    static final long T0 = 1_700_000_000_000L;
    static final long WAIT = 30_000;

    static List<Float> filled(int n, float value) {
        return new ArrayList<>(Collections.nCopies(n, value));
    }

    static ItemEmbedding item(String id, String version, List<Float> vector, long time) {
        return new ItemEmbedding(id, version, vector, "c", List.of(), ItemStatus.ACTIVE, time);
    }

    static ModelVersion version(String v, ModelPhase phase, Integer dimension, long time) {
        return new ModelVersion(v, phase, null, dimension, time);
    }

    static KeyedBroadcastOperatorTestHarness<String, ItemEmbedding, ModelVersion, ItemEmbedding> harness(int defaultDimension)
            throws Exception {
        var h = ProcessFunctionTestHarnesses.forKeyedBroadcastProcessFunction(
                new ItemVectorValidator("job", "item-embeddings", "model-versions", defaultDimension, WAIT),
                ItemEmbedding::getItemId, Types.STRING, ModelVersions.STATE);
        h.setProcessingTime(T0);
        return h;
    }

    static List<String> reasons(KeyedBroadcastOperatorTestHarness<?, ?, ?, ?> h) {
        var out = h.getSideOutput(DeadLetters.TAG);
        return out == null ? List.of() : out.stream().map(r -> ((DeadLetter) r.getValue()).getReason()).toList();
    }

    @Test
    void vectorsMustHaveTheirVersionsDimensionFiniteValuesAndADirection() throws Exception {
        try (var h = harness(64)) {
            h.processBroadcastElement(version("v1", ModelPhase.SERVING, null, T0), 0);
            h.processBroadcastElement(version("v2", ModelPhase.LOADING, 4, T0), 0);
            ItemEmbedding good64 = item("i1", "v1", filled(64, 0.1f), T0);
            ItemEmbedding good4 = item("i1", "v2", filled(4, 0.1f), T0);
            List<Float> nan = filled(64, 0.1f);
            nan.set(3, Float.NaN);
            List<Float> inf = filled(4, 0.1f);
            inf.set(0, Float.POSITIVE_INFINITY);
            ItemEmbedding delete = new ItemEmbedding("i6", "v1", List.of(), null, List.of(), ItemStatus.DELETED, T0);
            List<ItemEmbedding> inputs = List.of(good64, good4,
                    item("i2", "v1", filled(63, 0.1f), T0), // v1 declares none: the default
                    item("i2", "v2", filled(64, 0.1f), T0), // v2 declares 4
                    item("i3", "v1", nan, T0),
                    item("i4", "v2", inf, T0),
                    item("i5", "v1", filled(64, 0f), T0),
                    delete);
            for (ItemEmbedding e : inputs) {
                h.processElement(e, 0);
            }
            assertThat(h.extractOutputValues()).containsExactly(good64, good4, delete);
            assertThat(reasons(h)).satisfiesExactly(
                    r -> assertThat(r).isEqualTo("bad-vector: vector has dimension 63, expected 64"),
                    r -> assertThat(r).isEqualTo("bad-vector: vector has dimension 64, expected 4"),
                    r -> assertThat(r).isEqualTo("bad-vector: vector[3] is NaN"),
                    r -> assertThat(r).isEqualTo("bad-vector: vector[0] is Infinity"),
                    r -> assertThat(r).isEqualTo("bad-vector: vector has zero length"));
            // The dead letter carries the rejected record itself, re-encoded.
            DeadLetter first = (DeadLetter) h.getSideOutput(DeadLetters.TAG).peek().getValue();
            assertThat(AvroSingleObjectSerde.of(ItemEmbedding.class).decode(first.getValue().array())).isEqualTo(inputs.get(2));
        }
    }

    @Test
    void theDimensionDeclaredAtLoadingHoldsAfterAServingEventWithoutOne() throws Exception {
        try (var h = harness(64)) {
            h.processBroadcastElement(version("v2", ModelPhase.LOADING, 10, T0), 0);
            h.processBroadcastElement(version("v2", ModelPhase.SERVING, null, T0 + 1), 0);
            h.processElement(item("i1", "v2", filled(10, 0.1f), T0 + 2), 0);
            assertThat(h.extractOutputValues()).hasSize(1);
            assertThat(reasons(h)).isEmpty();
        }
    }

    @Test
    void anEventDeclaringAnotherDimensionIsDeadLetteredAndTheFirstOneHolds() throws Exception {
        try (var h = harness(64)) {
            h.processBroadcastElement(version("v2", ModelPhase.LOADING, 10, T0), 0);
            h.processBroadcastElement(version("v2", ModelPhase.SERVING, 32, T0 + 1), 0);
            h.processElement(item("i1", "v2", filled(10, 0.1f), T0 + 2), 0);
            h.processElement(item("i2", "v2", filled(32, 0.1f), T0 + 2), 0);
            assertThat(h.extractOutputValues()).extracting(ItemEmbedding::getItemId).containsExactly("i1");
            assertThat(reasons(h)).satisfiesExactly(
                    r -> assertThat(r).startsWith("dimension-conflict: model version v2 declares dimension 32"),
                    r -> assertThat(r).isEqualTo("bad-vector: vector has dimension 32, expected 10"));
            assertThat(h.getBroadcastState(ModelVersions.STATE).get("v2").getPhase())
                    .as("the refused event does not switch the version").isEqualTo(ModelPhase.LOADING);
        }
    }

    @Test
    void afterAStartItemsWaitForTheirVersionsRecordInOrder() throws Exception {
        try (var h = harness(64)) {
            // A start without state: the compacted model-versions topic has only v2's SERVING record (dimension 10),
            // and its items are read first.
            ItemEmbedding first = item("i1", "v2", filled(10, 0.1f), T0);
            ItemEmbedding second = item("i1", "v2", filled(10, 0.2f), T0 + 1);
            ItemEmbedding other = item("i2", "v2", filled(10, 0.3f), T0);
            h.processElement(first, 0);
            h.processElement(second, 0);
            h.processElement(other, 0);
            assertThat(h.extractOutputValues()).isEmpty();
            h.processBroadcastElement(version("v2", ModelPhase.SERVING, 10, T0), 0);
            assertThat(h.extractOutputValues()).containsExactlyInAnyOrder(first, second, other);
            assertThat(h.extractOutputValues().indexOf(first)).isLessThan(h.extractOutputValues().indexOf(second));
            assertThat(reasons(h)).isEmpty();
        }
    }

    @Test
    void anItemWhoseVersionNeverShowsUpIsCheckedAgainstTheDefaultWhenTheWaitEnds() throws Exception {
        try (var h = harness(4)) {
            h.processElement(item("i1", "v9", filled(4, 0.1f), T0), 0);
            h.processElement(item("i2", "v9", filled(5, 0.1f), T0), 0);
            assertThat(h.extractOutputValues()).as("the default's dimension passes at once")
                    .extracting(ItemEmbedding::getItemId).containsExactly("i1");
            h.setProcessingTime(T0 + WAIT);
            assertThat(reasons(h)).containsExactly("bad-vector: vector has dimension 5, expected 4");
            // After the wait, unknown versions take the default at once.
            h.processElement(item("i3", "v9", filled(6, 0.1f), T0 + WAIT + 1), 0);
            assertThat(reasons(h)).hasSize(2);
        }
    }

    @Test
    void itemsOfARetiredVersionAreSkippedNotDeadLettered() throws Exception {
        try (var h = harness(4)) {
            h.processBroadcastElement(version("v1", ModelPhase.RETIRED, null, T0), 0);
            h.processBroadcastElement(version("v2", ModelPhase.SERVING, null, T0), 0);
            h.processElement(item("i1", "v1", filled(4, 0.1f), T0), 0);
            h.processElement(item("i1", "v2", filled(4, 0.1f), T0), 0);
            assertThat(h.extractOutputValues()).extracting(ItemEmbedding::getModelVersion).containsExactly("v2");
            assertThat(reasons(h)).isEmpty();
        }
    }

    @Test
    void aTombstoneIsADeleteOfEveryVersionOfItsKey() {
        ItemEmbedding delete = Tombstones.itemDeletes().recordFor(
                new RawRecord("item-embeddings", 0, 5, T0, "i7".getBytes(StandardCharsets.UTF_8), null));
        assertThat(delete.getItemId()).isEqualTo("i7");
        assertThat(delete.getStatus()).isEqualTo(ItemStatus.DELETED);
        assertThat(delete.getModelVersion()).isEqualTo(Tombstones.ALL_VERSIONS);
        assertThat(delete.getEventTime()).isEqualTo(T0);
        assertThat(ItemVectorValidator.check(delete, 64)).isNull();
    }
}
