package dev.streamrec.dedup;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.Histogram;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.runtime.metrics.DescriptiveStatisticsHistogram;
import org.apache.flink.runtime.state.VoidNamespace;
import org.apache.flink.runtime.state.VoidNamespaceSerializer;
import org.apache.flink.streaming.api.operators.InternalTimer;
import org.apache.flink.streaming.api.operators.InternalTimerService;
import org.apache.flink.streaming.api.operators.Triggerable;
import org.apache.flink.streaming.api.operators.TwoInputStreamOperator;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.util.OutputTag;

import dev.streamrec.avro.Candidate;
import dev.streamrec.avro.Impression;
import dev.streamrec.avro.RecallRefill;
import dev.streamrec.avro.RecallResult;
import dev.streamrec.avro.SeenExclusion;
import dev.streamrec.avro.SeenSet;
import dev.streamrec.jobs.JobMetrics;
import dev.streamrec.jobs.MicroBatchOperator;
import dev.streamrec.schemas.QueryableStates;
import dev.streamrec.schemas.Records;
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
 * <p><b>Micro-batches.</b> Impressions are applied per user in batches ({@link MicroBatchOperator}): the batch is
 * written at most {@code batchDelayMs} (processing time) after its first impression, before every checkpoint
 * barrier and before a recall result of the same user. Writing a user's impressions reads and writes the seen set
 * once, takes the items out of the stored fresh recall (so a reader never gets an item after its impression was
 * applied) and emits the shrunk record once: a page of ten impressions costs one state write and one 4 KB record,
 * not ten. With {@code batchDelayMs = 0} every impression is applied on its own. A recall result is filtered,
 * stored and emitted at once.
 *
 * <p>Never dry: when the fresh recall holds fewer than {@code minFresh} candidates (on a result, or when a batch
 * shrank it), a {@link RecallRefill} goes to {@link #REFILLS} (the recall-refills topic): index-job recomputes the
 * user's recall excluding the seen candidates it names. One refill is in flight per user; another may follow a
 * result that is still short once {@code refillTimeoutMs} passed.
 *
 * <p>State stays bounded: the seen set is capped by its policy and shrinks on event-time timers (at its next expiry
 * rounded up to a minute, so timers of many users coalesce); a user's fresh recall is dropped {@code userTtlMs}
 * (event time) after its result's source event time when no newer one came.
 */
public class FreshRecallFilter extends MicroBatchOperator<RecallResult>
        implements TwoInputStreamOperator<Impression, RecallResult, RecallResult>, Triggerable<String, VoidNamespace> {
    private static final long serialVersionUID = 1L;
    public static final OutputTag<RecallRefill> REFILLS = new OutputTag<>("recall-refills", TypeInformation.of(RecallRefill.class));
    /** Event-time cleanup timers are rounded up to this: users whose sets expire within it share a firing. */
    static final long CLEANUP_GRANULARITY_MS = 60_000;
    /** The false-positive gauge is the estimate of 1 in this many seen sets written. */
    private static final int FALSE_POSITIVE_SAMPLE_EVERY = 64;
    /**
     * The refill draft's exclusions: a candidate of the current recall that was unseen when the result came has
     * this as its time; it is named in a refill only once it left the fresh recall.
     */
    private static final long NOT_SEEN_YET = 0;

    private final DedupSettings settings;

    private transient ValueState<SeenSet> seen;
    private transient ValueState<RecallResult> fresh;
    /**
     * The refill draft: every candidate of the user's current recall (excluded = seen at that time, with its time;
     * others {@link #NOT_SEEN_YET}) and when a refill was last asked. Written with each result, read when short.
     */
    private transient ValueState<RecallRefill> refill;
    private transient InternalTimerService<VoidNamespace> cleanupTimers;
    /** The open batch: user -> impressions in arrival order. */
    private transient Map<String, List<Impression>> batch;
    private transient StreamRecord<RecallResult> reuse;

    private transient Counter impressionsIn;
    private transient Counter duplicates;
    private transient Counter late;
    private transient Counter expired;
    private transient Counter forgotten;
    private transient Counter refillsRequested;
    private transient Counter recallsIn;
    private transient Counter batches;
    private transient Histogram filteredCandidates;
    private transient Histogram seenSetSize;
    private transient double estimatedFalsePositiveRate;
    private transient long setsWritten;

    public FreshRecallFilter(DedupSettings settings) {
        super(settings.batchDelayMs(), settings.batchMaxImpressions());
        this.settings = settings;
    }

    @Override
    public void open() throws Exception {
        super.open();
        Records.useGeneratedCoders(); // state and network (de)serialization of this task's records
        seen = getPartitionedState(QueryableStates.seen());
        fresh = getPartitionedState(QueryableStates.recall(QueryableStates.FRESH_RECALL));
        refill = getPartitionedState(new ValueStateDescriptor<>("refill", TypeInformation.of(RecallRefill.class)));
        cleanupTimers = getInternalTimerService("dedup-cleanup", VoidNamespaceSerializer.INSTANCE, this);
        batch = new LinkedHashMap<>();
        reuse = new StreamRecord<>(null);
        MetricGroup metrics = JobMetrics.of(getRuntimeContext());
        impressionsIn = metrics.counter("impressionsIn");
        duplicates = metrics.counter("duplicateImpressions");
        late = metrics.counter("lateImpressions");
        expired = metrics.counter("expiredImpressions");
        forgotten = metrics.counter("forgottenSeenItems");
        refillsRequested = metrics.counter("refillsRequested");
        recallsIn = metrics.counter("recallResultsIn");
        batches = metrics.counter("impressionBatches");
        filteredCandidates = metrics.histogram("filteredCandidates", new DescriptiveStatisticsHistogram(1000));
        seenSetSize = metrics.histogram("seenSetSize", new DescriptiveStatisticsHistogram(1000));
        metrics.gauge("estimatedFalsePositiveRate", () -> estimatedFalsePositiveRate);
    }

    @Override
    public void processElement1(StreamRecord<Impression> element) throws Exception {
        impressionsIn.inc();
        Impression impression = element.getValue();
        batch.computeIfAbsent(impression.getUserId(), u -> new ArrayList<>(4)).add(impression);
        added();
    }

    @Override
    protected void writeBatch() throws Exception {
        for (Map.Entry<String, List<Impression>> e : batch.entrySet()) {
            setCurrentKey(e.getKey());
            apply(e.getValue());
        }
        batch.clear();
        batches.inc();
    }

    /** Applies one user's impressions (the current key's) to their seen set and stored fresh recall. */
    private void apply(List<Impression> impressions) throws Exception {
        long now = inputWatermark();
        long period = settings.seen().periodMs();
        SeenTracker tracker = null;
        long expiryBefore = Long.MIN_VALUE;
        Set<String> shown = new HashSet<>();
        for (Impression impression : impressions) {
            long eventTime = impression.getEventTime();
            if (eventTime + period <= now) {
                expired.inc();
                continue;
            }
            if (eventTime < now) {
                late.inc();
            }
            if (tracker == null) {
                SeenSet stored = seen.value();
                tracker = SeenTracker.of(stored, settings.seen());
                expiryBefore = stored == null ? Long.MIN_VALUE : tracker.nextExpiry();
            }
            if (tracker.record(impression.getItemId(), impression.getImpressionId(), eventTime) == SeenTracker.Outcome.DUPLICATE) {
                duplicates.inc();
            } else {
                shown.add(impression.getItemId());
            }
        }
        if (shown.isEmpty()) {
            return;
        }
        storeSeen(tracker);
        RecallResult stored = fresh.value();
        RecallResult shrunk = stored == null ? null : SeenFilter.without(stored, shown);
        if (shrunk != null) {
            fresh.update(shrunk);
            output.collect(reuse.replace(shrunk));
            if (shrunk.getCandidates().size() < settings.minFresh()) {
                RecallRefill draft = refill.value();
                if (draft != null && requestRefill(draft, shrunk, tracker)) {
                    refill.update(draft);
                }
            }
        }
        // A stored set whose first expiry did not move already has its timer (the fresh recall's end did not move
        // either); a new set, or one a late impression gave an earlier expiry, needs one.
        if (tracker.nextExpiry() != expiryBefore) {
            scheduleCleanup(tracker, stored);
        }
    }

    @Override
    public void processElement2(StreamRecord<RecallResult> element) throws Exception {
        RecallResult recall = element.getValue();
        recallsIn.inc();
        List<Impression> pending = batch.remove(recall.getUserId());
        if (pending != null) {
            apply(pending); // the user's impressions so far count for this result
        }
        SeenTracker tracker = SeenTracker.of(seen.value(), settings.seen());
        SeenFilter.Filtered filtered = SeenFilter.filter(recall, tracker, inputWatermark());
        filteredCandidates.update(filtered.seen().size());
        fresh.update(filtered.fresh());
        output.collect(reuse.replace(filtered.fresh()));

        boolean enough = filtered.fresh().getCandidates().size() >= settings.minFresh();
        // A refill in flight stays in flight while the results are still short; a result with enough ends it.
        RecallRefill previous = enough ? null : refill.value();
        List<SeenExclusion> candidates = new ArrayList<>(filtered.seen());
        for (Candidate c : filtered.fresh().getCandidates()) {
            candidates.add(new SeenExclusion(c.getItemId(), NOT_SEEN_YET));
        }
        RecallRefill draft = new RecallRefill(recall.getUserId(), candidates, filtered.fresh().getCandidates().size(),
                settings.minFresh(), previous == null ? 0 : previous.getRequestedAt(), recall.getSourceEventTime());
        if (!enough) {
            requestRefill(draft, filtered.fresh(), tracker);
        }
        refill.update(draft);
        scheduleCleanup(tracker, filtered.fresh());
    }

    private boolean inFlight(RecallRefill draft) {
        return draft.getRequestedAt() > 0
                && getProcessingTimeService().getCurrentProcessingTime() < draft.getRequestedAt() + settings.refillTimeoutMs();
    }

    /**
     * Asks for a refill unless one is in flight: it names the current recall's candidates that are seen now (those
     * seen when the result came and those shown since), each with the time it may come back. Returns whether it
     * asked (then {@code draft} holds the time it did; the caller stores it).
     */
    private boolean requestRefill(RecallRefill draft, RecallResult current, SeenTracker tracker) {
        if (inFlight(draft)) {
            return false;
        }
        Set<String> unseen = new HashSet<>();
        for (Candidate c : current.getCandidates()) {
            unseen.add(c.getItemId());
        }
        List<SeenExclusion> excluded = new ArrayList<>();
        for (SeenExclusion e : draft.getExcluded()) {
            if (e.getUntil() != NOT_SEEN_YET) {
                excluded.add(e);
            } else if (!unseen.contains(e.getItemId())) {
                excluded.add(new SeenExclusion(e.getItemId(), tracker.seenUntil(e.getItemId())));
            }
        }
        if (excluded.isEmpty()) {
            return false; // nothing to leave out: a recompute would give the same result
        }
        long now = getProcessingTimeService().getCurrentProcessingTime();
        output.collect(REFILLS, new StreamRecord<>(new RecallRefill(current.getUserId(), excluded,
                current.getCandidates().size(), settings.minFresh(), now, current.getSourceEventTime())));
        refillsRequested.inc();
        draft.setRequestedAt(now);
        return true;
    }

    private void storeSeen(SeenTracker tracker) throws Exception {
        forgotten.inc(tracker.forgotten());
        seenSetSize.update(tracker.size());
        // The estimate decodes every Bloom layer of the set: sampled, not computed on every write.
        if (++setsWritten % FALSE_POSITIVE_SAMPLE_EVERY == 0) {
            estimatedFalsePositiveRate = tracker.falsePositiveRate();
        }
        seen.update(tracker.toRecord());
    }

    /**
     * An event-time timer at the earlier of the seen set's next expiry and the fresh recall's end, rounded up (the
     * timer service keeps one timer per user and time, so registering the same time again costs nothing more).
     */
    private void scheduleCleanup(SeenTracker tracker, RecallResult current) {
        long due = tracker.nextExpiry();
        if (current != null) {
            due = Math.min(due, current.getSourceEventTime() + settings.userTtlMs());
        }
        if (due != Long.MAX_VALUE) {
            cleanupTimers.registerEventTimeTimer(VoidNamespace.INSTANCE, roundUp(due));
        }
    }

    private static long roundUp(long time) {
        long rounded = Math.floorDiv(time, CLEANUP_GRANULARITY_MS) * CLEANUP_GRANULARITY_MS;
        return rounded < time ? rounded + CLEANUP_GRANULARITY_MS : rounded;
    }

    @Override
    public void onEventTime(InternalTimer<String, VoidNamespace> timer) throws Exception {
        long now = timer.getTimestamp();
        SeenSet stored = seen.value();
        RecallResult current = fresh.value();
        SeenTracker tracker = SeenTracker.of(stored, settings.seen());
        if (stored != null) {
            tracker.expire(now);
            if (tracker.isEmpty()) {
                seen.clear();
            } else {
                seen.update(tracker.toRecord());
            }
        }
        if (current != null && current.getSourceEventTime() + settings.userTtlMs() <= now) {
            fresh.clear();
            refill.clear();
            current = null;
        }
        scheduleCleanup(tracker, current);
    }

    @Override
    public void onProcessingTime(InternalTimer<String, VoidNamespace> timer) {
        // no processing-time timers per user (the batch timer is the operator's own)
    }
}
