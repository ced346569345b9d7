package dev.streamrec.jobs.io;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;

import org.apache.flink.streaming.api.operators.ProcessOperator;
import org.apache.flink.streaming.util.OneInputStreamOperatorTestHarness;
import org.junit.jupiter.api.Test;

import dev.streamrec.avro.ActionType;
import dev.streamrec.avro.DeadLetter;
import dev.streamrec.avro.UserAction;
import dev.streamrec.schemas.AvroSingleObjectSerde;

/** Decoding and validation through the operator harness: good records pass, every bad one is a counted dead letter. */
class DecodeAndValidateTest {
    static final long NOW = System.currentTimeMillis();

    @Test
    void badBytesAndInvalidRecordsBecomeDeadLettersWithTheirReasonAndCoordinates() throws Exception {
        DecodeAndValidate<UserAction, UserAction> decode = DecodeAndValidate.of("test-job", UserAction.class,
                RecordValidators.userAction(new EventTimeSkew(3_600_000, Long.MAX_VALUE / 4)));
        try (var h = new OneInputStreamOperatorTestHarness<>(new ProcessOperator<>(decode))) {
            h.open();
            h.setProcessingTime(NOW);
            AvroSingleObjectSerde<UserAction> serde = AvroSingleObjectSerde.of(UserAction.class);
            UserAction good = new UserAction("e1", "u1", "i1", ActionType.CLICK, 1.0, NOW, null);
            UserAction noUser = new UserAction("e2", "", "i1", ActionType.CLICK, 1.0, NOW, null);
            UserAction future = new UserAction("e3", "u1", "i1", ActionType.CLICK, 1.0, NOW + 7_200_000, null);
            h.processElement(raw(7, serde.encode(good)), NOW);
            h.processElement(raw(8, "garbage".getBytes(StandardCharsets.UTF_8)), NOW);
            h.processElement(raw(9, serde.encode(noUser)), NOW);
            h.processElement(raw(10, serde.encode(future)), NOW);

            assertThat(h.extractOutputValues()).containsExactly(good);
            var deadLetters = h.getSideOutput(DeadLetters.TAG);
            assertThat(deadLetters).extracting(r -> ((DeadLetter) r.getValue()).getReason())
                    .satisfiesExactly(
                            r -> assertThat(r).startsWith(Rejection.UNDECODABLE),
                            r -> assertThat(r).startsWith(Rejection.MISSING_ID),
                            r -> assertThat(r).startsWith(Rejection.TIME_SKEW));
            DeadLetter first = deadLetters.peek().getValue();
            assertThat(first.getJob()).isEqualTo("test-job");
            assertThat(first.getTopic()).isEqualTo("user-actions");
            assertThat(first.getOffset()).isEqualTo(8);
            assertThat(DeadLetters.sourceKey(first)).isEqualTo("u1");
            assertThat(StandardCharsets.UTF_8.decode(first.getValue()).toString()).isEqualTo("garbage");
        }
    }

    private static RawRecord raw(long offset, byte[] value) {
        return new RawRecord("user-actions", 0, offset, NOW, "u1".getBytes(StandardCharsets.UTF_8), value);
    }
}
