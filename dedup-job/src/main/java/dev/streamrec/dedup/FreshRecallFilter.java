package dev.streamrec.dedup;

import java.util.ArrayList;
import java.util.List;

import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.Histogram;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.runtime.metrics.DescriptiveStatisticsHistogram;
import org.apache.flink.streaming.api.TimeDomain;
import org.apache.flink.streaming.api.functions.co.KeyedCoProcessFunction;
import org.apache.flink.util.Collector;
import org.apache.flink.util.OutputTag;

import dev.streamrec.avro.Impression;
import dev.streamrec.avro.RecallRefill;
import dev.streamrec.avro.RecallResult;
import dev.streamrec.avro.SeenExclusion;
import dev.streamrec.avro.SeenSet;
import dev.streamrec.jobs.JobMetrics;
import dev.streamrec.schemas.QueryableStates;
import dev.streamrec.seen.SeenFilter;
import dev.streamrec.seen.SeenTracker;

/**
 * Keyed by userId (input 1: impressions, input 2: recall from index-job): keeps the user's seen set (queryable
 * {@code seen}) and their recall without seen items (queryable {@code fresh-recall}, and the fresh-recall topic).
 *
 * <p>"Now" is the operator's event-time watermark: an item counts as seen while its impression time plus the period
 * is later than the watermark. Impressions older than the period are counted and ignored; later ones that are
 * behind the watermark (late, out of order) are recorded all the same; a second event of the same impression (a
 * client retry) is dropped and counted.
 *
 * <p>An impression takes its item out of the stored fresh recall at once (a reader never gets the item after the
 * impression was processed); the topic gets the user's updated record {@code outputDelayMs} (processing time) after
 * the first impression of a burst, so a page of ten impressions costs one record, not ten. A recall result is
 * filtered and emitted at once.
 *
 * <p>Never dry: when the fresh recall holds fewer than {@code minFresh} candidates (on a result, or when a burst of
 * impressions is emitted), a {@link RecallRefill} goes to {@link #REFILLS} (the recall-refills topic): index-job recomputes the
 * user's recall excluding the seen candidates it names. One refill is in flight per user; another may follow a result
 * that is still short once {@code refillTimeoutMs} passed.
 *
 * <p>State stays bounded: the seen set is capped by its policy and shrinks on event-time timers (one per user, at
 * its next expiry rounded up to a minute so timers coalesce); a user's fresh recall is dropped {@code userTtlMs}
 * (event time) after its result's source event time when no newer one came.
 */
public class FreshRecallFilter extends KeyedCoProcessFunction<String, Impression, RecallResult, RecallResult> {
    public static final OutputTag<RecallRefill> REFILLS = new OutputTag<>("recall-refills", TypeInformation.of(RecallRefill.class));
    /** Event-time cleanup timers are rounded up to this: users whose sets expire within it share a firing. */
    static final long CLEANUP_GRANULARITY_MS = 60_000;

    private final DedupSettings settings;

    private transient ValueState<SeenSet> seen;
    private transient ValueState<RecallResult> fresh;
    /** The seen candidates of the current recall (the next refill's exclusions) and when a refill was last asked. */
    private transient ValueState<RecallRefill> refill;
    private transient ValueState<Long> outputTimer;
    private transient ValueState<Long> cleanupTimer;

    private transient Counter impressionsIn;
    private transient Counter duplicates;
    private transient Counter late;
    private transient Counter expired;
    private transient Counter forgotten;
    private transient Counter refillsRequested;
    private transient Counter recallsIn;
    private transient Histogram filteredCandidates;
    private transient Histogram seenSetSize;
    private transient double estimatedFalsePositiveRate;

    public FreshRecallFilter(DedupSettings settings) {
        this.settings = settings;
    }

    @Override
    public void open(OpenContext openContext) {
        seen = getRuntimeContext().getState(QueryableStates.seen());
        fresh = getRuntimeContext().getState(QueryableStates.recall(QueryableStates.FRESH_RECALL));
        refill = getRuntimeContext().getState(new ValueStateDescriptor<>("refill", TypeInformation.of(RecallRefill.class)));
        outputTimer = getRuntimeContext().getState(new ValueStateDescriptor<>("output-timer", Types.LONG));
        cleanupTimer = getRuntimeContext().getState(new ValueStateDescriptor<>("cleanup-timer", Types.LONG));
        MetricGroup metrics = JobMetrics.of(getRuntimeContext());
        impressionsIn = metrics.counter("impressionsIn");
        duplicates = metrics.counter("duplicateImpressions");
        late = metrics.counter("lateImpressions");
        expired = metrics.counter("expiredImpressions");
        forgotten = metrics.counter("forgottenSeenItems");
        refillsRequested = metrics.counter("refillsRequested");
        recallsIn = metrics.counter("recallResultsIn");
        filteredCandidates = metrics.histogram("filteredCandidates", new DescriptiveStatisticsHistogram(1000));
        seenSetSize = metrics.histogram("seenSetSize", new DescriptiveStatisticsHistogram(1000));
        metrics.gauge("estimatedFalsePositiveRate", () -> estimatedFalsePositiveRate);
    }

    @Override
    public void processElement1(Impression impression, Context ctx, Collector<RecallResult> out) throws Exception {
        impressionsIn.inc();
        long now = ctx.timerService().currentWatermark();
        long eventTime = impression.getEventTime();
        if (eventTime + settings.seen().periodMs() <= now) {
            expired.inc();
            return;
        }
        if (eventTime < now) {
            late.inc();
        }
        SeenTracker tracker = SeenTracker.of(seen.value(), settings.seen());
        if (tracker.record(impression.getItemId(), impression.getImpressionId(), eventTime) == SeenTracker.Outcome.DUPLICATE) {
            duplicates.inc();
            return;
        }
        storeSeen(tracker);
        RecallResult stored = fresh.value();
        RecallResult shrunk = stored == null ? null : SeenFilter.without(stored, impression.getItemId());
        if (shrunk != null) {
            fresh.update(shrunk);
            RecallRefill draft = refill.value();
            if (draft != null) {
                List<SeenExclusion> excluded = new ArrayList<>(draft.getExcluded());
                excluded.add(new SeenExclusion(impression.getItemId(), tracker.seenUntil(impression.getItemId())));
                draft.setExcluded(excluded);
            }
            if (draft != null) {
                refill.update(draft);
            }
            if (outputTimer.value() == null) {
                long at = ctx.timerService().currentProcessingTime() + settings.outputDelayMs();
                ctx.timerService().registerProcessingTimeTimer(at);
                outputTimer.update(at);
            }
        }
        scheduleCleanup(tracker, stored, ctx);
    }

    @Override
    public void processElement2(RecallResult recall, Context ctx, Collector<RecallResult> out) throws Exception {
        recallsIn.inc();
        SeenTracker tracker = SeenTracker.of(seen.value(), settings.seen());
        SeenFilter.Filtered filtered = SeenFilter.filter(recall, tracker, ctx.timerService().currentWatermark());
        filteredCandidates.update(filtered.seen().size());
        fresh.update(filtered.fresh());
        out.collect(filtered.fresh());
        Long pending = outputTimer.value();
        if (pending != null) {
            ctx.timerService().deleteProcessingTimeTimer(pending);
            outputTimer.clear();
        }
        RecallRefill previous = refill.value();
        boolean inFlight = previous != null && previous.getRequestedAt() > 0
                && ctx.timerService().currentProcessingTime() < previous.getRequestedAt() + settings.refillTimeoutMs();
        boolean enough = filtered.fresh().getCandidates().size() >= settings.minFresh();
        RecallRefill draft = RecallRefill.newBuilder()
                .setUserId(recall.getUserId())
                .setExcluded(new ArrayList<>(filtered.seen()))
                .setFresh(filtered.fresh().getCandidates().size())
                .setMinFresh(settings.minFresh())
                .setRequestedAt(inFlight && !enough ? previous.getRequestedAt() : 0)
                .setSourceEventTime(recall.getSourceEventTime())
                .build();
        maybeRefill(draft, filtered.fresh(), ctx);
        scheduleCleanup(tracker, filtered.fresh(), ctx);
    }

    /** Asks for a refill when the fresh recall ran short and none is in flight; stores the draft either way. */
    private void maybeRefill(RecallRefill draft, RecallResult current, Context ctx) throws Exception {
        if (draft == null) {
            return;
        }
        int left = current.getCandidates().size();
        long wallClock = ctx.timerService().currentProcessingTime();
        boolean inFlight = draft.getRequestedAt() > 0 && wallClock < draft.getRequestedAt() + settings.refillTimeoutMs();
        if (left < settings.minFresh() && !inFlight && !draft.getExcluded().isEmpty()) {
            draft.setFresh(left);
            draft.setRequestedAt(wallClock);
            draft.setSourceEventTime(current.getSourceEventTime());
            ctx.output(REFILLS, RecallRefill.newBuilder(draft).setExcluded(new ArrayList<>(draft.getExcluded())).build());
            refillsRequested.inc();
        }
        refill.update(draft);
    }

    private void storeSeen(SeenTracker tracker) throws Exception {
        forgotten.inc(tracker.forgotten());
        seenSetSize.update(tracker.size());
        estimatedFalsePositiveRate = tracker.falsePositiveRate();
        seen.update(tracker.toRecord());
    }

    /** One event-time timer per user, at the earlier of the seen set's next expiry and the fresh recall's end. */
    private void scheduleCleanup(SeenTracker tracker, RecallResult current, Context ctx) throws Exception {
        long due = tracker.nextExpiry();
        if (current != null) {
            due = Math.min(due, current.getSourceEventTime() + settings.userTtlMs());
        }
        if (due == Long.MAX_VALUE) {
            return;
        }
        long at = roundUp(due);
        Long registered = cleanupTimer.value();
        if (registered == null || at < registered) {
            if (registered != null) {
                ctx.timerService().deleteEventTimeTimer(registered);
            }
            ctx.timerService().registerEventTimeTimer(at);
            cleanupTimer.update(at);
        }
    }

    private static long roundUp(long time) {
        long rounded = Math.floorDiv(time, CLEANUP_GRANULARITY_MS) * CLEANUP_GRANULARITY_MS;
        return rounded < time ? rounded + CLEANUP_GRANULARITY_MS : rounded;
    }

    @Override
    public void onTimer(long timestamp, OnTimerContext ctx, Collector<RecallResult> out) throws Exception {
        if (ctx.timeDomain() == TimeDomain.PROCESSING_TIME) {
            outputTimer.clear();
            RecallResult current = fresh.value();
            if (current != null) {
                out.collect(current);
                // Decided once per burst, so the refill names every item the burst showed.
                maybeRefill(refill.value(), current, ctx);
            }
            return;
        }
        cleanupTimer.clear();
        SeenTracker tracker = SeenTracker.of(seen.value(), settings.seen());
        tracker.expire(timestamp);
        if (tracker.isEmpty()) {
            seen.clear();
        } else {
            seen.update(tracker.toRecord());
        }
        RecallResult current = fresh.value();
        if (current != null && current.getSourceEventTime() + settings.userTtlMs() <= timestamp) {
            fresh.clear();
            refill.clear();
            current = null;
        }
        scheduleCleanup(tracker, current, ctx);
    }
}
