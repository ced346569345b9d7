package dev.streamrec.joiner;

import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import org.apache.avro.specific.SpecificRecordBase;
import org.apache.flink.api.common.state.ListState;
import org.apache.flink.api.common.state.ListStateDescriptor;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.Histogram;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.runtime.metrics.DescriptiveStatisticsHistogram;
import org.apache.flink.runtime.state.KeyedStateBackend;
import org.apache.flink.runtime.state.StateInitializationContext;
import org.apache.flink.runtime.state.StateSnapshotContext;
import org.apache.flink.runtime.state.VoidNamespace;
import org.apache.flink.runtime.state.VoidNamespaceSerializer;
import org.apache.flink.streaming.api.operators.AbstractStreamOperator;
import org.apache.flink.streaming.api.operators.TwoInputStreamOperator;
import org.apache.flink.streaming.api.watermark.Watermark;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;

import dev.streamrec.avro.DeadLetter;
import dev.streamrec.avro.Impression;
import dev.streamrec.avro.JoinState;
import dev.streamrec.avro.PackedImpression;
import dev.streamrec.avro.TrainingExample;
import dev.streamrec.avro.UserAction;
import dev.streamrec.jobs.JobMetrics;
import dev.streamrec.jobs.config.JobConfig;
import dev.streamrec.jobs.io.DeadLetters;
import dev.streamrec.jobs.io.Rejection;
import dev.streamrec.schemas.AvroSingleObjectSerde;
import dev.streamrec.schemas.CompactAvroSerializer;
import dev.streamrec.schemas.Records;
import dev.streamrec.schemas.Topic;

/**
 * Impressions and actions keyed by (user, item) in, training examples out: {@link KeyJoin} on the key's state, run
 * for a key when its earliest due work (an action's time, a window's end, a lateness end) is reached by the
 * watermark. Flink's interval join is inner only; negatives (impressions no action followed) need this.
 *
 * <p>The due times are kept in a {@link DueIndex} on the heap, not in Flink's timer service: the index is derived
 * from the keyed state, so a restore rebuilds it from the keys it got and a checkpoint carries nothing of it.
 * With RocksDB's timer service, two timer writes and a timer deletion per impression (a RocksDB write each,
 * compacted later) were about a third of the join threads' Java samples in a profile of the benchmark; Flink's heap
 * timers avoid those writes but copy every timer into every checkpoint. Side by side with the timer service the
 * index (with impressions packed as read) cost 11% less CPU per event (docs/architecture.md, "The due index"). The
 * cost is heap: about 100 bytes per key with state (its key string and the entry).
 */
public class ExampleJoiner extends AbstractStreamOperator<TrainingExample>
        implements TwoInputStreamOperator<PackedImpression, UserAction, TrainingExample> {
    private static final long serialVersionUID = 1L;

    private final String job;
    private final String impressionsTopic;
    private final String actionsTopic;
    private final JoinerSettings settings;

    private transient KeyJoin join;
    private transient ValueState<JoinState> state;
    private transient DueIndex due;
    private transient long watermark;
    private transient ListState<Long> openCounts;
    private transient ListState<Long> heldCounts;
    private transient long openImpressions;
    private transient long heldImpressions;
    private transient JoinOutput joinOutput;
    private transient AvroSingleObjectSerde<Impression> impressionSerde;
    private transient AvroSingleObjectSerde<UserAction> actionSerde;
    private transient DeadLetters.Metrics deadLetters;
    private transient Map<KeyJoin.Count, Counter> counts;
    private transient Counter examplesEmitted;
    private transient Counter lateEventsDropped;
    private transient Histogram joinDelay;

    public ExampleJoiner(String job, String impressionsTopic, String actionsTopic, JoinerSettings settings) {
        this.job = job;
        this.impressionsTopic = impressionsTopic;
        this.actionsTopic = actionsTopic;
        this.settings = settings;
    }

    public static ExampleJoiner from(JobConfig config) {
        return new ExampleJoiner(config.jobName(), config.topic(Topic.IMPRESSIONS), config.topic(Topic.USER_ACTIONS),
                JoinerSettings.from(config));
    }

    /** The key's state: Avro in its compact binary encoding (evolves through savepoints, never Kryo). */
    static ValueStateDescriptor<JoinState> stateDescriptor() {
        return new ValueStateDescriptor<>("join", new CompactAvroSerializer<>(JoinState.class));
    }

    @Override
    public void initializeState(StateInitializationContext context) throws Exception {
        super.initializeState(context);
        // The open/held gauges survive restarts: each subtask stores its counts, a restore sums what it gets (one list
        // per count: a rescale redistributes the entries one by one).
        openCounts = context.getOperatorStateStore().getListState(new ListStateDescriptor<>("open-impressions", Types.LONG));
        heldCounts = context.getOperatorStateStore().getListState(new ListStateDescriptor<>("held-impressions", Types.LONG));
        openImpressions = sum(openCounts);
        heldImpressions = sum(heldCounts);
    }

    private static long sum(ListState<Long> counts) throws Exception {
        long sum = 0;
        for (Long count : counts.get()) {
            sum += count;
        }
        return sum;
    }

    @Override
    public void snapshotState(StateSnapshotContext context) throws Exception {
        super.snapshotState(context);
        openCounts.update(List.of(openImpressions));
        heldCounts.update(List.of(heldImpressions));
    }

    @Override
    public void open() throws Exception {
        super.open();
        Records.useGeneratedCoders();
        join = new KeyJoin(settings);
        state = getPartitionedState(VoidNamespace.INSTANCE, VoidNamespaceSerializer.INSTANCE, stateDescriptor());
        watermark = Long.MIN_VALUE;
        joinOutput = new JoinOutput();
        impressionSerde = AvroSingleObjectSerde.of(Impression.class);
        actionSerde = AvroSingleObjectSerde.of(UserAction.class);
        deadLetters = new DeadLetters.Metrics(getRuntimeContext().getMetricGroup());
        MetricGroup metrics = JobMetrics.of(getRuntimeContext());
        counts = new EnumMap<>(KeyJoin.Count.class);
        counts.put(KeyJoin.Count.POSITIVE, metrics.counter("positives"));
        counts.put(KeyJoin.Count.NEGATIVE_KEPT, metrics.counter("negativesKept"));
        counts.put(KeyJoin.Count.NEGATIVE_DROPPED, metrics.counter("negativesDropped"));
        counts.put(KeyJoin.Count.LATE_POSITIVE, metrics.counter("latePositives"));
        counts.put(KeyJoin.Count.LATE_POSITIVE_DROPPED, metrics.counter("latePositivesDropped"));
        counts.put(KeyJoin.Count.UNMATCHED_ACTION, metrics.counter("unmatchedActions"));
        counts.put(KeyJoin.Count.ACTION_AFTER_CLOSE, metrics.counter("actionsAfterClose"));
        counts.put(KeyJoin.Count.DUPLICATE_IMPRESSION, metrics.counter("duplicateImpressions"));
        counts.put(KeyJoin.Count.DUPLICATE_ACTION, metrics.counter("duplicateActions"));
        counts.put(KeyJoin.Count.OPENED, metrics.counter("impressionsOpened"));
        counts.put(KeyJoin.Count.CLEARED, metrics.counter("impressionsCleared"));
        examplesEmitted = metrics.counter("examplesEmitted");
        lateEventsDropped = metrics.counter("lateEventsDropped");
        joinDelay = metrics.histogram("joinDelayMs", new DescriptiveStatisticsHistogram(1000));
        metrics.gauge("openImpressions", () -> openImpressions);
        metrics.gauge("heldImpressions", () -> heldImpressions);
        metrics.gauge("dueIndexEntries", () -> due.size());
        metrics.gauge("positiveShareBeforeSampling", () -> share(count(KeyJoin.Count.POSITIVE),
                count(KeyJoin.Count.NEGATIVE_KEPT) + count(KeyJoin.Count.NEGATIVE_DROPPED)));
        metrics.gauge("positiveShareAfterSampling", () -> share(count(KeyJoin.Count.POSITIVE),
                count(KeyJoin.Count.NEGATIVE_KEPT)));
        due = rebuildDueIndex();
    }

    /** One entry per key with state, at its next due work: after a restore, the keys this subtask got. */
    private DueIndex rebuildDueIndex() throws Exception {
        DueIndex index = new DueIndex();
        List<String> keys;
        // Collected first: reading a key's state moves the backend's current key, which its key iterator shares.
        KeyedStateBackend<String> backend = getKeyedStateBackend();
        try (Stream<String> stored = backend.getKeys(stateDescriptor().getName(), VoidNamespace.INSTANCE)) {
            keys = stored.toList();
        }
        for (String key : keys) {
            setCurrentKey(key);
            JoinState current = state.value();
            if (current != null && !KeyJoin.isEmpty(current)) {
                index.add(join.nextDue(current), key);
            }
        }
        return index;
    }

    /** Entries in the due index (stale ones included), for tests. */
    int dueEntries() {
        return due.size();
    }

    private long count(KeyJoin.Count what) {
        return counts.get(what).getCount();
    }

    private static double share(long positives, long negatives) {
        return positives + negatives == 0 ? 0 : (double) positives / (positives + negatives);
    }

    @Override
    public void processElement1(StreamRecord<PackedImpression> record) throws Exception {
        PackedImpression impression = record.getValue();
        JoinState current = load();
        long dueBefore = dueOf(current);
        joinOutput.to(record.getTimestamp(), impression.getUserId());
        join.onImpression(current, impression, watermark, joinOutput);
        save(current, dueBefore);
    }

    @Override
    public void processElement2(StreamRecord<UserAction> record) throws Exception {
        UserAction action = record.getValue();
        JoinState current = load();
        long dueBefore = dueOf(current);
        joinOutput.to(record.getTimestamp(), action.getUserId());
        join.onAction(current, action.getUserId(), action.getItemId(), action, watermark, joinOutput);
        save(current, dueBefore);
    }

    /**
     * Runs every key's work due at or before the watermark, earliest first (as Flink fires timers: before the
     * watermark goes on and before the next record), then forwards it.
     */
    @Override
    public void processWatermark(Watermark mark) throws Exception {
        watermark = mark.getTimestamp();
        while (due.hasDue(watermark)) {
            long at = due.earliest();
            String key = due.poll();
            setCurrentKey(key);
            JoinState current = state.value();
            long dueBefore = current == null ? 0L : dueOf(current);
            if (dueBefore == 0L || dueBefore > watermark) {
                continue; // stale: the key's work moved later (or its state is gone) and has its own entry
            }
            String userId = JoinKey.userId(key);
            joinOutput.to(at, userId);
            join.advance(current, userId, JoinKey.itemId(key), watermark, joinOutput);
            save(current, dueBefore);
        }
        super.processWatermark(mark);
    }

    private JoinState load() throws Exception {
        JoinState current = state.value();
        return current == null ? KeyJoin.emptyState() : current;
    }

    /** The key's next due work (0: none). */
    private long dueOf(JoinState current) {
        return KeyJoin.isEmpty(current) ? 0L : join.nextDue(current);
    }

    /** Writes the key's state back (or clears it) and gives the index an entry when its next due work moved. */
    private void save(JoinState current, long dueBefore) throws Exception {
        long next = dueOf(current);
        if (next == 0L) {
            state.clear();
            return;
        }
        if (next != dueBefore) {
            due.add(next, (String) getCurrentKey());
        }
        current.setTimer(next);
        state.update(current);
    }

    /** Where {@link KeyJoin} reports to: this operator's output, records stamped with the current call's time. */
    private final class JoinOutput implements KeyJoin.Output {
        private final StreamRecord<TrainingExample> example = new StreamRecord<>(null);
        private long timestamp;
        private String userId;

        void to(long timestamp, String userId) {
            this.timestamp = timestamp;
            this.userId = userId;
        }

        @Override
        public void emit(TrainingExample e) {
            examplesEmitted.inc();
            if (!e.getLate() && e.getTimeToFirstActionMs() != null) {
                joinDelay.update(e.getTimeToFirstActionMs());
            }
            output.collect(example.replace(e, timestamp));
        }

        @Override
        public void reject(SpecificRecordBase record, Rejection why) {
            long now = System.currentTimeMillis();
            deadLetters.count(why);
            if (Rejection.LATE_EVENT.equals(why.code())) {
                lateEventsDropped.inc();
            }
            DeadLetter letter = record instanceof Impression impression
                    ? DeadLetters.ofDecoded(job, impressionsTopic, userId, impression, impressionSerde, why, now)
                    : DeadLetters.ofDecoded(job, actionsTopic, userId, (UserAction) record, actionSerde, why, now);
            output.collect(DeadLetters.TAG, new StreamRecord<>(letter, timestamp));
        }

        @Override
        public void count(KeyJoin.Count what) {
            counts.get(what).inc();
            switch (what) {
                case OPENED -> {
                    openImpressions++;
                    heldImpressions++;
                }
                case POSITIVE, NEGATIVE_KEPT, NEGATIVE_DROPPED -> openImpressions--;
                case CLEARED -> heldImpressions--;
                default -> { }
            }
        }

        @Override
        public long now() {
            return System.currentTimeMillis();
        }
    }
}
