package dev.streamrec.jobs.io;

import java.io.IOException;

import org.apache.avro.specific.SpecificRecordBase;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.java.typeutils.ResultTypeQueryable;
import org.apache.flink.metrics.Counter;
import org.apache.flink.streaming.api.functions.ProcessFunction;
import org.apache.flink.util.Collector;

import dev.streamrec.jobs.JobMetrics;
import dev.streamrec.schemas.AvroSingleObjectSerde;

/**
 * Decodes raw Kafka records and validates them. Usable records go on; everything else goes to
 * {@link DeadLetters#TAG} with its reason and raw bytes, and is counted. Never throws for bad input.
 */
public class DecodeAndValidate<T extends SpecificRecordBase> extends ProcessFunction<RawRecord, T>
        implements ResultTypeQueryable<T> {
    private static final long serialVersionUID = 1L;

    private final String job;
    private final AvroSingleObjectSerde<T> serde;
    private final Validator<T> validator;
    private final Tombstones<T> tombstones;

    private transient DeadLetters.Metrics deadLetters;
    private transient Counter recordsIn;

    public DecodeAndValidate(String job, Class<T> type, Validator<T> validator) {
        this(job, type, validator, null);
    }

    /** With {@code tombstones}, a null value is the record it says (else a null value is undecodable). */
    public DecodeAndValidate(String job, Class<T> type, Validator<T> validator, Tombstones<T> tombstones) {
        this.job = job;
        this.serde = AvroSingleObjectSerde.of(type);
        this.validator = validator;
        this.tombstones = tombstones;
    }

    @Override
    public TypeInformation<T> getProducedType() {
        return TypeInformation.of(serde.type());
    }

    @Override
    public void open(OpenContext openContext) {
        deadLetters = new DeadLetters.Metrics(getRuntimeContext().getMetricGroup());
        recordsIn = JobMetrics.of(getRuntimeContext()).counter("recordsIn");
    }

    @Override
    public void processElement(RawRecord raw, Context ctx, Collector<T> out) {
        recordsIn.inc();
        long now = ctx.timerService().currentProcessingTime();
        T record;
        try {
            record = raw.value == null && tombstones != null ? tombstones.recordFor(raw) : serde.decode(raw.value);
        } catch (IOException | RuntimeException e) {
            reject(raw, new Rejection(Rejection.UNDECODABLE, String.valueOf(e.getMessage())), ctx, now);
            return;
        }
        Rejection rejection;
        try {
            rejection = validator.check(record, now);
        } catch (RuntimeException e) {
            // A record odd enough to break a check is bad input too, not a reason to stop the job.
            rejection = new Rejection(Rejection.BAD_VALUE, "validation failed: " + e);
        }
        if (rejection != null) {
            reject(raw, rejection, ctx, now);
            return;
        }
        out.collect(record);
    }

    private void reject(RawRecord raw, Rejection rejection, Context ctx, long now) {
        deadLetters.count(rejection);
        ctx.output(DeadLetters.TAG, DeadLetters.of(job, raw, rejection, now));
    }
}
