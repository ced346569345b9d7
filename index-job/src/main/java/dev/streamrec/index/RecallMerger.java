package dev.streamrec.index;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.BroadcastState;
import org.apache.flink.api.common.state.MapStateDescriptor;
import org.apache.flink.api.common.state.ReadOnlyBroadcastState;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.Histogram;
import org.apache.flink.runtime.metrics.DescriptiveStatisticsHistogram;
import org.apache.flink.streaming.api.functions.co.KeyedBroadcastProcessFunction;
import org.apache.flink.util.Collector;

import dev.streamrec.avro.Candidate;
import dev.streamrec.avro.IndexControl;
import dev.streamrec.avro.RecallResult;
import dev.streamrec.avro.ShardAnswer;
import dev.streamrec.jobs.JobMetrics;
import dev.streamrec.schemas.QueryableStates;

/**
 * Keyed by userId: merges the shards' answers to a request; when every shard has answered, the user's recall is
 * emitted and replaces the queryable state {@code recall}. Answers of a superseded request are dropped; a result
 * never replaces one of a newer request. A user whose recall was not recomputed for the TTL is dropped (by timer:
 * queryable state cannot use state TTL).
 *
 * <p>Deletes reach the served recall without waiting for the user (broadcast side: batches of deleted items from
 * {@link ItemChangeBatcher}): one pass over this subtask's users removes the batch's items from every stored recall
 * and re-emits the changed ones. A request issued before the batch came may still be answered by a shard that had not
 * seen the delete yet, so its items stay in a short-lived broadcast set and are removed from results of requests
 * issued before {@code batchedAt + DELETE_RACE_MS}.
 */
public class RecallMerger extends KeyedBroadcastProcessFunction<String, ShardAnswer, IndexControl, RecallResult> {
    /** Broadcast state: recently deleted item -> when its batch was closed (the same on every subtask). */
    public static final MapStateDescriptor<String, Long> RECENT_DELETES =
            new MapStateDescriptor<>("recently-deleted-items", Types.STRING, Types.LONG);
    /** Longer than a request takes from the scheduler to every shard while the job keeps up. */
    static final long DELETE_RACE_MS = 5_000;
    /** How long a delete is remembered for results of requests in flight: well past the race window. */
    static final long RECENT_DELETE_RETENTION_MS = 60_000;

    private final RecallSettings settings;

    private transient ValueState<ShardAnswer> merging;
    private transient ValueState<RecallResult> recall;
    private transient ValueState<Long> lastRequestId;
    private transient ValueState<Long> expiryTimer;
    private transient Counter results;
    private transient Counter abandoned;
    private transient Histogram requestToResultMillis;
    private transient Counter purgedRecalls;
    private transient Counter deleteBatches;
    private transient Histogram deleteBatchMillis;

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
        purgedRecalls = metrics.counter("recallsPurgedOfDeletes");
        deleteBatches = metrics.counter("deleteBatches");
        deleteBatchMillis = metrics.histogram("deleteBatchMillis", new DescriptiveStatisticsHistogram(1000));
    }

    @Override
    public void processElement(ShardAnswer answer, ReadOnlyContext ctx, Collector<RecallResult> out) throws Exception {
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
        RecallResult result = withoutRecentDeletes(RecallMerge.result(merged, settings.k(), now), merged.getRequestedAt(),
                ctx.getBroadcastState(RECENT_DELETES));
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

    /** The result without the items deleted after its request may have been answered without knowing it. */
    static RecallResult withoutRecentDeletes(RecallResult result, long requestedAt,
                                             ReadOnlyBroadcastState<String, Long> recentDeletes) throws Exception {
        if (recentDeletes.immutableEntries().iterator().hasNext()) {
            List<Candidate> kept = new ArrayList<>(result.getCandidates().size());
            for (Candidate c : result.getCandidates()) {
                Long batchedAt = recentDeletes.get(c.getItemId());
                if (batchedAt == null || requestedAt >= batchedAt + DELETE_RACE_MS) {
                    kept.add(c);
                }
            }
            result.setCandidates(kept);
        }
        return result;
    }

    /** Removes the deleted items from the recall; true if it held any. (A decoded Avro array cannot remove in place.) */
    static boolean removeDeleted(RecallResult recall, Set<String> deleted) {
        List<Candidate> kept = new ArrayList<>(recall.getCandidates().size());
        for (Candidate c : recall.getCandidates()) {
            if (!deleted.contains(c.getItemId())) {
                kept.add(c);
            }
        }
        if (kept.size() == recall.getCandidates().size()) {
            return false;
        }
        recall.setCandidates(kept);
        return true;
    }

    @Override
    public void processBroadcastElement(IndexControl control, Context ctx, Collector<RecallResult> out) throws Exception {
        if (control.getDeletedItems().isEmpty()) {
            return;
        }
        long started = System.nanoTime();
        BroadcastState<String, Long> recent = ctx.getBroadcastState(RECENT_DELETES);
        List<String> expired = new ArrayList<>();
        for (Map.Entry<String, Long> e : recent.immutableEntries()) {
            if (e.getValue() + RECENT_DELETE_RETENTION_MS < control.getBatchedAt()) {
                expired.add(e.getKey());
            }
        }
        for (String item : expired) {
            recent.remove(item);
        }
        Set<String> deleted = new HashSet<>(control.getDeletedItems());
        for (String item : deleted) {
            recent.put(item, control.getBatchedAt());
        }
        ctx.applyToKeyedState(QueryableStates.recall(QueryableStates.RECALL), (user, state) -> {
            RecallResult current = state.value();
            if (current != null && removeDeleted(current, deleted)) {
                state.update(current);
                purgedRecalls.inc();
                out.collect(current);
            }
        });
        deleteBatches.inc();
        deleteBatchMillis.update((System.nanoTime() - started) / 1_000_000);
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
