package dev.streamrec.feature;

import static dev.streamrec.feature.Fixtures.action;
import static dev.streamrec.feature.Fixtures.item;
import static dev.streamrec.feature.Fixtures.vector;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import org.apache.avro.specific.SpecificRecordBase;
import org.apache.flink.streaming.util.OneInputStreamOperatorTestHarness;
import org.apache.flink.streaming.util.ProcessFunctionTestHarnesses;
import org.junit.jupiter.api.Test;

import dev.streamrec.avro.ActionType;
import dev.streamrec.avro.DeadLetter;
import dev.streamrec.avro.ItemEmbedding;
import dev.streamrec.avro.ItemStatus;
import dev.streamrec.avro.ModelPhase;
import dev.streamrec.avro.ModelVersion;
import dev.streamrec.avro.UserAction;
import dev.streamrec.jobs.io.DeadLetters;
import dev.streamrec.jobs.io.DecodeAndValidate;
import dev.streamrec.jobs.io.EventTimeSkew;
import dev.streamrec.jobs.io.RawRecord;
import dev.streamrec.jobs.io.RecordValidators;
import dev.streamrec.schemas.AvroSingleObjectSerde;

/** Every bad-input case of feature-job's inputs reaches the dead letters with its reason; good records pass. */
class InputValidationTest {
    private static final long NOW = 1_700_000_000_000L;
    private static final long HOUR = 3_600_000L;

    private static <T extends SpecificRecordBase> RawRecord raw(Class<T> type, T record) {
        return new RawRecord("topic", 2, 42, NOW, "k".getBytes(StandardCharsets.UTF_8), AvroSingleObjectSerde.of(type).encode(record));
    }

    private static <T extends SpecificRecordBase> OneInputStreamOperatorTestHarness<RawRecord, T> harness(DecodeAndValidate<T, T> fn)
            throws Exception {
        var h = ProcessFunctionTestHarnesses.forProcessFunction(fn);
        h.setProcessingTime(NOW);
        return h;
    }

    private static List<DeadLetter> deadLetters(OneInputStreamOperatorTestHarness<?, ?> h) {
        return h.getSideOutput(DeadLetters.TAG) == null ? List.of()
                : h.getSideOutput(DeadLetters.TAG).stream().map(r -> r.getValue()).toList();
    }

    private static EventTimeSkew skew() {
        return new EventTimeSkew(HOUR, 7 * 24 * HOUR);
    }

    @Test
    void badActionsAreDeadLetteredWithTheirReason() throws Exception {
        var h = harness(DecodeAndValidate.of("feature-job", UserAction.class, RecordValidators.userAction(skew())));
        UserAction good = action("u1", "i1", ActionType.CLICK, NOW);
        h.processElement(raw(UserAction.class, good), 0);
        h.processElement(new RawRecord("topic", 2, 43, NOW, null, new byte[] {1, 2, 3}), 0);
        h.processElement(new RawRecord("topic", 2, 44, NOW, null, null), 0);
        h.processElement(raw(UserAction.class, action("u1", "i1", ActionType.UNKNOWN, NOW)), 0);
        h.processElement(raw(UserAction.class, action("", "i1", ActionType.CLICK, NOW)), 0);
        h.processElement(raw(UserAction.class, action("u1", "", ActionType.CLICK, NOW)), 0);
        UserAction noEventId = action("u1", "i1", ActionType.CLICK, NOW);
        noEventId.setEventId(" ");
        h.processElement(raw(UserAction.class, noEventId), 0);
        h.processElement(raw(UserAction.class, action("u1", "i1", ActionType.RATE, Double.NaN, NOW)), 0);
        h.processElement(raw(UserAction.class, action("u1", "i1", ActionType.RATE, Double.POSITIVE_INFINITY, NOW)), 0);
        h.processElement(raw(UserAction.class, action("u1", "i1", ActionType.CLICK, NOW + 2 * HOUR)), 0);
        h.processElement(raw(UserAction.class, action("u1", "i1", ActionType.CLICK, NOW - 30 * 24 * HOUR)), 0);
        h.processElement(raw(UserAction.class, action("u1", "i1", ActionType.CLICK, 0)), 0);

        assertThat(h.extractOutputValues()).containsExactly(good);
        assertThat(deadLetters(h)).extracting(DeadLetter::getReason).satisfiesExactly(
                r -> assertThat(r).startsWith("undecodable"),
                r -> assertThat(r).startsWith("undecodable"),
                r -> assertThat(r).startsWith("unknown-enum"),
                r -> assertThat(r).isEqualTo("missing-id: userId is missing"),
                r -> assertThat(r).isEqualTo("missing-id: itemId is missing"),
                r -> assertThat(r).isEqualTo("missing-id: eventId is missing"),
                r -> assertThat(r).isEqualTo("bad-value: value is NaN"),
                r -> assertThat(r).isEqualTo("bad-value: value is Infinity"),
                r -> assertThat(r).startsWith("time-skew").contains("future"),
                r -> assertThat(r).startsWith("time-skew").contains("behind"),
                r -> assertThat(r).startsWith("time-skew"));
        DeadLetter first = deadLetters(h).get(0);
        assertThat(first.getJob()).isEqualTo("feature-job");
        assertThat(first.getTopic()).isEqualTo("topic");
        assertThat(first.getPartition()).isEqualTo(2);
        assertThat(first.getOffset()).isEqualTo(43);
        assertThat(first.getValue().array()).containsExactly(1, 2, 3);
        h.close();
    }

    @Test
    void itemsWithoutIdsOrAKnownStatusAreDeadLetteredWhenDecoded() throws Exception {
        // Vectors are checked after decoding, against their version's dimension (ItemVectorValidatorTest).
        var h = harness(DecodeAndValidate.of("feature-job", ItemEmbedding.class, RecordValidators.itemEmbeddingWithoutVector(skew())));
        ItemEmbedding good = item("i1", "v1", vector(1, 4), "c", List.of(), NOW);
        h.processElement(raw(ItemEmbedding.class, good), 0);
        h.processElement(raw(ItemEmbedding.class, item("", "v1", vector(1, 4), "c", List.of(), NOW)), 0);
        h.processElement(raw(ItemEmbedding.class, item("i1", "", vector(1, 4), "c", List.of(), NOW)), 0);
        ItemEmbedding unknownStatus = item("i1", "v1", vector(1, 4), "c", List.of(), NOW);
        unknownStatus.setStatus(ItemStatus.UNKNOWN);
        h.processElement(raw(ItemEmbedding.class, unknownStatus), 0);
        ItemEmbedding deleted = Fixtures.deleted("i1", "v1", NOW);
        h.processElement(raw(ItemEmbedding.class, deleted), 0);

        assertThat(h.extractOutputValues()).containsExactly(good, deleted);
        assertThat(deadLetters(h)).extracting(DeadLetter::getReason).satisfiesExactly(
                r -> assertThat(r).isEqualTo("missing-id: itemId is missing"),
                r -> assertThat(r).isEqualTo("missing-id: modelVersion is missing"),
                r -> assertThat(r).startsWith("unknown-enum"));
        h.close();
    }

    @Test
    void badModelVersionEventsAreDeadLettered() throws Exception {
        var h = harness(DecodeAndValidate.of("feature-job", ModelVersion.class, RecordValidators.modelVersion()));
        ModelVersion good = ModelVersion.newBuilder().setVersion("v2").setPhase(ModelPhase.SERVING).setEventTime(NOW).build();
        h.processElement(raw(ModelVersion.class, good), 0);
        h.processElement(raw(ModelVersion.class, ModelVersion.newBuilder(good).setVersion("").build()), 0);
        h.processElement(raw(ModelVersion.class, ModelVersion.newBuilder(good).setPhase(ModelPhase.UNKNOWN).build()), 0);
        assertThat(h.extractOutputValues()).containsExactly(good);
        assertThat(deadLetters(h)).extracting(DeadLetter::getReason).containsExactly(
                "missing-id: version is missing", "unknown-enum: phase is not one this job knows");
        h.close();
    }

    @Test
    void oldItemsFromACompactedTopicAreAcceptedButFutureOnesAreNot() throws Exception {
        EventTimeSkew compacted = new EventTimeSkew(HOUR, Long.MAX_VALUE / 4);
        var h = harness(DecodeAndValidate.of("feature-job", ItemEmbedding.class, RecordValidators.itemEmbeddingWithoutVector(compacted)));
        ItemEmbedding recent = item("i1", "v1", vector(1, 4), "c", List.of(), NOW);
        ItemEmbedding monthsOld = item("i2", "v1", vector(2, 4), "c", List.of(), NOW - 90 * 24 * HOUR);
        h.processElement(raw(ItemEmbedding.class, recent), 0);
        h.processElement(raw(ItemEmbedding.class, monthsOld), 0);
        h.processElement(raw(ItemEmbedding.class, item("i3", "v1", vector(3, 4), "c", List.of(), NOW + 2 * HOUR)), 0);
        assertThat(h.extractOutputValues()).containsExactly(recent, monthsOld);
        assertThat(deadLetters(h)).extracting(DeadLetter::getReason).singleElement().asString().startsWith("time-skew");
        h.close();
    }
}
