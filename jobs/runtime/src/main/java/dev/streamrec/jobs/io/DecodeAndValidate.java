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
 *
 * <p>What goes on is made by a {@link Packer} from the usable record and the bytes it was decoded from: the record
 * itself ({@link #of}), or for a job that stores a record as it came, those bytes beside it ({@link #packed}), so it
 * need not encode the record again.
 */
public class DecodeAndValidate<T extends SpecificRecordBase, O> extends ProcessFunction<RawRecord, O>
        implements ResultTypeQueryable<O> {
    private static final long serialVersionUID = 1L;

    /** Makes the record that goes on from a usable record and the single-object bytes it was decoded from. */
    @FunctionalInterface
    public interface Packer<T, O> extends java.io.Serializable {
        O pack(T record, byte[] encoded);
    }

    private final String job;
    private final AvroSingleObjectSerde<T> serde;
    private final Validator<T> validator;
    private final Tombstones<T> tombstones;
    private final Packer<T, O> packer;
    private final TypeInformation<O> producedType;

    private transient DeadLetters.Metrics deadLetters;
    private transient Counter recordsIn;

    private DecodeAndValidate(String job, Class<T> type, Validator<T> validator, Tombstones<T> tombstones,
                              Packer<T, O> packer, TypeInformation<O> producedType) {
        this.job = job;
        this.serde = AvroSingleObjectSerde.of(type);
        this.validator = validator;
        this.tombstones = tombstones;
        this.packer = packer;
        this.producedType = producedType;
    }

    public static <T extends SpecificRecordBase> DecodeAndValidate<T, T> of(String job, Class<T> type, Validator<T> validator) {
        return of(job, type, validator, null);
    }

    /** With {@code tombstones}, a null value is the record it says (else a null value is undecodable). */
    public static <T extends SpecificRecordBase> DecodeAndValidate<T, T> of(String job, Class<T> type, Validator<T> validator,
                                                                           Tombstones<T> tombstones) {
        return new DecodeAndValidate<>(job, type, validator, tombstones, (record, encoded) -> record, TypeInformation.of(type));
    }

    /** Usable records go on as {@code packer} makes them (tombstones are not expected). */
    public static <T extends SpecificRecordBase, O> DecodeAndValidate<T, O> packed(
            String job, Class<T> type, Validator<T> validator, Packer<T, O> packer, Class<O> packedType) {
        return new DecodeAndValidate<>(job, type, validator, null, packer, TypeInformation.of(packedType));
    }

    @Override
    public TypeInformation<O> getProducedType() {
        return producedType;
    }

    @Override
    public void open(OpenContext openContext) {
        deadLetters = new DeadLetters.Metrics(getRuntimeContext().getMetricGroup());
        recordsIn = JobMetrics.of(getRuntimeContext()).counter("recordsIn");
    }

    @Override
    public void processElement(RawRecord raw, Context ctx, Collector<O> out) {
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
        out.collect(packer.pack(record, raw.value));
    }

    private void reject(RawRecord raw, Rejection rejection, Context ctx, long now) {
        deadLetters.count(rejection);
        ctx.output(DeadLetters.TAG, DeadLetters.of(job, raw, rejection, now));
    }
}
