package dev.streamrec.index;

import java.util.ArrayList;
import java.util.Arrays;
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
import org.apache.flink.api.common.typeinfo.PrimitiveArrayTypeInfo;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.metrics.Counter;
import org.apache.flink.runtime.state.FunctionInitializationContext;
import org.apache.flink.runtime.state.FunctionSnapshotContext;
import org.apache.flink.streaming.api.checkpoint.CheckpointedFunction;
import org.apache.flink.metrics.Histogram;
import org.apache.flink.runtime.metrics.DescriptiveStatisticsHistogram;
import org.apache.flink.streaming.api.functions.co.KeyedBroadcastProcessFunction;
import org.apache.flink.util.Collector;

import dev.streamrec.avro.Candidate;
import dev.streamrec.avro.IndexControl;
import dev.streamrec.avro.RecallResult;
import dev.streamrec.avro.ShardAnswer;
import dev.streamrec.index.ann.Sharding;
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
 * and re-emits the changed ones. The pass reads a sorted array of the hashes of each user's candidates
 * ({@code recall-item-hashes}, a few hundred bytes) and decodes the recall only of users it may hold a deleted item
 * for. A request issued before the batch came may still be answered by a shard that had not
 * seen the delete yet, so its items stay in a short-lived broadcast set and are removed from results of requests
 * issued before {@code batchedAt + DELETE_RACE_MS}.
 */
public class RecallMerger extends KeyedBroadcastProcessFunction<String, ShardAnswer, IndexControl, RecallResult>
        implements CheckpointedFunction {
    /** Broadcast state: recently deleted item -> when its batch was closed (the same on every subtask). */
    public static final MapStateDescriptor<String, Long> RECENT_DELETES =
            new MapStateDescriptor<>("recently-deleted-items", Types.STRING, Types.LONG);
    /** Per user: the sorted hashes of the recall's item ids, so a delete pass decodes only the holders' recall. */
    static final ValueStateDescriptor<int[]> ITEM_HASHES =
            new ValueStateDescriptor<>("recall-item-hashes", PrimitiveArrayTypeInfo.INT_PRIMITIVE_ARRAY_TYPE_INFO);
    /**
     * Broadcast state: set once every stored recall has its item hashes (recall restored from a release without them
     * gets them in the first delete pass, which reads every recall).
     */
    static final MapStateDescriptor<String, Boolean> HASHES_COMPLETE =
            new MapStateDescriptor<>("recall-item-hashes-complete", Types.STRING, Types.BOOLEAN);
    /** Longer than a request takes from the scheduler to every shard while the job keeps up. */
    static final long DELETE_RACE_MS = 5_000;
    /** How long a delete is remembered for results of requests in flight: well past the race window. */
    static final long RECENT_DELETE_RETENTION_MS = 60_000;

    private final RecallSettings settings;

    private transient ValueState<ShardAnswer> merging;
    private transient ValueState<RecallResult> recall;
    private transient ValueState<Long> lastRequestId;
    private transient ValueState<Long> expiryTimer;
    private transient ValueState<int[]> itemHashes;
    /** Started without state: every recall this job stores has its item hashes, none needs the full pass. */
    private transient boolean freshStart;
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
        itemHashes = getRuntimeContext().getState(ITEM_HASHES);
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
        itemHashes.update(itemHashes(result));
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
            removeCandidates(result, item -> {
                Long batchedAt = recentDeletes.get(item);
                return batchedAt != null && requestedAt < batchedAt + DELETE_RACE_MS;
            });
        }
        return result;
    }

    /** A test of an item id that may read state. */
    private interface ItemTest {
        boolean test(String itemId) throws Exception;
    }

    /**
     * Drops the candidates {@code gone} selects, into a new list (a decoded Avro array cannot remove in place); true if
     * it dropped any.
     */
    private static boolean removeCandidates(RecallResult recall, ItemTest gone) throws Exception {
        List<Candidate> kept = new ArrayList<>(recall.getCandidates().size());
        for (Candidate c : recall.getCandidates()) {
            if (!gone.test(c.getItemId())) {
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
        int[] deletedHashes = new int[deleted.size()];
        int i = 0;
        for (String item : deleted) {
            recent.put(item, control.getBatchedAt());
            deletedHashes[i++] = Sharding.hash(item);
        }
        BroadcastState<String, Boolean> complete = ctx.getBroadcastState(HASHES_COMPLETE);
        if (freshStart) {
            complete.put(HASHES_COMPLETE.getName(), true);
        }
        if (Boolean.TRUE.equals(complete.get(HASHES_COMPLETE.getName()))) {
            ctx.applyToKeyedState(ITEM_HASHES, (user, hashes) -> {
                if (mayHold(hashes.value(), deletedHashes)) {
                    purge(recall.value(), deleted, out);
                }
            });
        } else {
            ctx.applyToKeyedState(QueryableStates.recall(QueryableStates.RECALL), (user, state) -> {
                RecallResult current = state.value();
                if (itemHashes.value() == null) {
                    itemHashes.update(itemHashes(current));
                }
                purge(current, deleted, out);
            });
            complete.put(HASHES_COMPLETE.getName(), true);
        }
        deleteBatches.inc();
        deleteBatchMillis.update((System.nanoTime() - started) / 1_000_000);
    }

    @Override
    public void initializeState(FunctionInitializationContext context) {
        freshStart = !context.isRestored();
    }

    @Override
    public void snapshotState(FunctionSnapshotContext context) {
        // Nothing of its own: the state is keyed and broadcast state.
    }

    /** Removes the deleted items from the current user's recall ({@code current}); re-emits it if it held any. */
    private void purge(RecallResult current, Set<String> deleted, Collector<RecallResult> out) throws Exception {
        if (current != null && removeCandidates(current, deleted::contains)) {
            recall.update(current);
            itemHashes.update(itemHashes(current));
            purgedRecalls.inc();
            out.collect(current);
        }
    }

    /** The sorted hashes of the recall's item ids. */
    static int[] itemHashes(RecallResult recall) {
        int[] hashes = new int[recall.getCandidates().size()];
        for (int i = 0; i < hashes.length; i++) {
            hashes[i] = Sharding.hash(recall.getCandidates().get(i).getItemId());
        }
        Arrays.sort(hashes);
        return hashes;
    }

    /** Whether a recall with these sorted item hashes may hold one of the deleted items (a collision only costs a read). */
    static boolean mayHold(int[] sortedHashes, int[] deletedHashes) {
        if (sortedHashes == null) {
            return false;
        }
        for (int h : deletedHashes) {
            if (Arrays.binarySearch(sortedHashes, h) >= 0) {
                return true;
            }
        }
        return false;
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
        itemHashes.clear();
        merging.clear();
        lastRequestId.clear();
        expiryTimer.clear();
    }
}
