package dev.streamrec.jobs.io;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;

import org.apache.avro.specific.SpecificRecordBase;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.util.OutputTag;

import dev.streamrec.avro.DeadLetter;
import dev.streamrec.jobs.JobMetrics;
import dev.streamrec.schemas.AvroSingleObjectSerde;

/**
 * The dead-letter side output every job routes unusable input to, and the metric that counts it
 * ({@code streamrec.deadLetters} in total and {@code streamrec.deadLetters.<code>} per reason).
 */
public final class DeadLetters {
    /** The side output carrying dead letters; all jobs union theirs into one sink. */
    public static final OutputTag<DeadLetter> TAG = new OutputTag<>("dead-letters", TypeInformation.of(DeadLetter.class));

    private DeadLetters() {}

    public static DeadLetter of(String job, RawRecord raw, Rejection rejection, long now) {
        return DeadLetter.newBuilder()
                .setJob(job)
                .setTopic(raw.topic == null ? "" : raw.topic)
                .setPartition(raw.partition)
                .setOffset(raw.offset)
                .setKey(raw.key == null ? null : ByteBuffer.wrap(raw.key))
                .setValue(raw.value == null ? null : ByteBuffer.wrap(raw.value))
                .setReason(rejection.reason())
                .setTime(now)
                .build();
    }

    /**
     * A dead letter for a record that was decoded fine but cannot be used later in the pipeline (e.g. it waited
     * too long for its item). Its Kafka coordinates are no longer known (-1); the value is the record re-encoded.
     */
    public static <T extends SpecificRecordBase> DeadLetter ofDecoded(
            String job, String topic, String key, T record, AvroSingleObjectSerde<T> serde, Rejection rejection, long now) {
        RawRecord raw = new RawRecord(topic, -1, -1, now,
                key == null ? null : key.getBytes(StandardCharsets.UTF_8), serde.encode(record));
        return of(job, raw, rejection, now);
    }

    public static String sourceKey(DeadLetter d) {
        if (d.getKey() == null) {
            return null;
        }
        ByteBuffer key = d.getKey().duplicate();
        byte[] bytes = new byte[key.remaining()];
        key.get(bytes);
        return new String(bytes, StandardCharsets.UTF_8);
    }

    /** Counts dead letters in a function's metric group, in total and per reason code. */
    public static final class Metrics {
        private final MetricGroup group;
        private final Counter total;
        private final Map<String, Counter> byCode = new HashMap<>();

        public Metrics(MetricGroup operatorGroup) {
            this.group = JobMetrics.of(operatorGroup);
            this.total = group.counter("deadLetters");
        }

        public void count(Rejection rejection) {
            total.inc();
            byCode.computeIfAbsent(rejection.code(), c -> group.addGroup("deadLetterReason", c).counter("deadLetters")).inc();
        }
    }
}
