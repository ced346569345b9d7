package dev.streamrec.index;

import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.Histogram;
import org.apache.flink.runtime.metrics.DescriptiveStatisticsHistogram;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.util.Collector;

import dev.streamrec.avro.RecallResult;
import dev.streamrec.avro.ShardAnswer;
import dev.streamrec.jobs.JobMetrics;
import dev.streamrec.schemas.QueryableStates;

/**
 * Keyed by userId: merges the shards' answers to a request; when every shard has answered, the user's recall is
 * emitted and replaces the queryable state {@code recall}. Answers of a superseded request are dropped; a result
 * never replaces one of a newer request. A user whose recall was not recomputed for the TTL is dropped (by timer:
 * queryable state cannot use state TTL).
 */
public class RecallMerger extends KeyedProcessFunction<String, ShardAnswer, RecallResult> {
    private final RecallSettings settings;

    private transient ValueState<ShardAnswer> merging;
    private transient ValueState<RecallResult> recall;
    private transient ValueState<Long> lastRequestId;
    private transient ValueState<Long> expiryTimer;
    private transient Counter results;
    private transient Counter abandoned;
    private transient Histogram requestToResultMillis;

    public RecallMerger(RecallSettings settings) {
        this.settings = settings;
    }

    @Override
    public void open(OpenContext openContext) {
        merging = getRuntimeContext().getState(new ValueStateDescriptor<>("merging-answers", TypeInformation.of(ShardAnswer.class)));
        recall = getRuntimeContext().getState(QueryableStates.recall(QueryableStates.RECALL));
        lastRequestId = getRuntimeContext().getState(new ValueStateDescriptor<>("last-merged-request", Types.LONG));
        expiryTimer = getRuntimeContext().getState(new ValueStateDescriptor<>("recall-expiry-timer", Types.LONG));
        var metrics = JobMetrics.of(getRuntimeContext());
        results = metrics.counter("recallResults");
        abandoned = metrics.counter("abandonedMerges");
        requestToResultMillis = metrics.histogram("requestToResultMillis", new DescriptiveStatisticsHistogram(1000));
    }

    @Override
    public void processElement(ShardAnswer answer, Context ctx, Collector<RecallResult> out) throws Exception {
        Long last = lastRequestId.value();
        if (last != null && answer.getRequestId() <= last) {
            return;
        }
        ShardAnswer merged = merging.value();
        if (merged != null && merged.getRequestId() > answer.getRequestId()) {
            return;
        }
        if (merged != null && merged.getRequestId() < answer.getRequestId()) {
            abandoned.inc();
            merged = null;
        }
        merged = RecallMerge.accumulate(merged, answer, settings.k(), settings.i2iPerTrigger());
        if (merged.getAnswers() < settings.shards()) {
            merging.update(merged);
            return;
        }
        merging.clear();
        long now = ctx.timerService().currentProcessingTime();
        RecallResult result = RecallMerge.result(merged, settings.k(), now);
        recall.update(result);
        lastRequestId.update(merged.getRequestId());
        results.inc();
        requestToResultMillis.update(now - merged.getRequestedAt());
        out.collect(result);
        if (expiryTimer.value() == null) {
            long at = now + settings.userTtlMs();
            ctx.timerService().registerProcessingTimeTimer(at);
            expiryTimer.update(at);
        }
    }

    @Override
    public void onTimer(long timestamp, OnTimerContext ctx, Collector<RecallResult> out) throws Exception {
        RecallResult current = recall.value();
        if (current != null && current.getComputedAt() + settings.userTtlMs() > timestamp) {
            long at = current.getComputedAt() + settings.userTtlMs();
            ctx.timerService().registerProcessingTimeTimer(at);
            expiryTimer.update(at);
            return;
        }
        recall.clear();
        merging.clear();
        lastRequestId.clear();
        expiryTimer.clear();
    }
}
