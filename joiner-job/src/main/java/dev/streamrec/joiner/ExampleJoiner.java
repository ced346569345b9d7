package dev.streamrec.joiner;

import java.util.EnumMap;
import java.util.Map;

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
import org.apache.flink.runtime.state.FunctionInitializationContext;
import org.apache.flink.runtime.state.FunctionSnapshotContext;
import org.apache.flink.streaming.api.TimerService;
import org.apache.flink.streaming.api.checkpoint.CheckpointedFunction;
import org.apache.flink.streaming.api.functions.co.KeyedCoProcessFunction;
import org.apache.flink.util.Collector;

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
 * Impressions and actions keyed by (user, item) in, training examples out: {@link KeyJoin} on the key's state, one
 * event-time timer per key at its earliest due work (an action's time, a window's end, a lateness end). Flink's
 * interval join is inner only; negatives (impressions no action followed) need this.
 */
public class ExampleJoiner extends KeyedCoProcessFunction<String, PackedImpression, UserAction, TrainingExample>
        implements CheckpointedFunction {
    private static final long serialVersionUID = 1L;

    private final String job;
    private final String impressionsTopic;
    private final String actionsTopic;
    private final JoinerSettings settings;

    private transient KeyJoin join;
    private transient ValueState<JoinState> state;
    private transient ListState<Long> openCounts;
    private transient ListState<Long> heldCounts;
    private transient long openImpressions;
    private transient long heldImpressions;
    private transient JoinOutput output;
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
    public void initializeState(FunctionInitializationContext context) throws Exception {
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
    public void snapshotState(FunctionSnapshotContext context) throws Exception {
        openCounts.update(java.util.List.of(openImpressions));
        heldCounts.update(java.util.List.of(heldImpressions));
    }

    @Override
    public void open(org.apache.flink.api.common.functions.OpenContext openContext) {
        Records.useGeneratedCoders();
        join = new KeyJoin(settings);
        state = getRuntimeContext().getState(stateDescriptor());
        output = new JoinOutput();
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
        metrics.gauge("positiveShareBeforeSampling", () -> share(count(KeyJoin.Count.POSITIVE),
                count(KeyJoin.Count.NEGATIVE_KEPT) + count(KeyJoin.Count.NEGATIVE_DROPPED)));
        metrics.gauge("positiveShareAfterSampling", () -> share(count(KeyJoin.Count.POSITIVE),
                count(KeyJoin.Count.NEGATIVE_KEPT)));
    }

    private long count(KeyJoin.Count what) {
        return counts.get(what).getCount();
    }

    private static double share(long positives, long negatives) {
        return positives + negatives == 0 ? 0 : (double) positives / (positives + negatives);
    }

    @Override
    public void processElement1(PackedImpression impression, Context ctx, Collector<TrainingExample> out) throws Exception {
        JoinState current = load();
        output.to(ctx, out, impression.getUserId());
        join.onImpression(current, impression, ctx.timerService().currentWatermark(), output);
        save(current, ctx.timerService());
    }

    @Override
    public void processElement2(UserAction action, Context ctx, Collector<TrainingExample> out) throws Exception {
        JoinState current = load();
        output.to(ctx, out, action.getUserId());
        join.onAction(current, action.getUserId(), action.getItemId(), action, ctx.timerService().currentWatermark(), output);
        save(current, ctx.timerService());
    }

    @Override
    public void onTimer(long timestamp, OnTimerContext ctx, Collector<TrainingExample> out) throws Exception {
        JoinState current = state.value();
        if (current == null) {
            return;
        }
        if (current.getTimer() == timestamp) {
            current.setTimer(0L); // this one has fired
        }
        String key = ctx.getCurrentKey();
        String userId = JoinKey.userId(key);
        String itemId = JoinKey.itemId(key);
        output.to(ctx, out, userId);
        join.advance(current, userId, itemId, ctx.timerService().currentWatermark(), output);
        save(current, ctx.timerService());
    }

    private JoinState load() throws Exception {
        JoinState current = state.value();
        return current == null ? KeyJoin.emptyState() : current;
    }

    /** Writes the key's state back (or clears it) and keeps its one timer at the earliest due work. */
    private void save(JoinState current, TimerService timers) throws Exception {
        long due = KeyJoin.isEmpty(current) ? 0L : join.nextDue(current);
        if (due != current.getTimer()) {
            if (current.getTimer() != 0L) {
                timers.deleteEventTimeTimer(current.getTimer());
            }
            if (due != 0L) {
                timers.registerEventTimeTimer(due);
            }
            current.setTimer(due);
        }
        if (due == 0L) {
            state.clear();
        } else {
            state.update(current);
        }
    }

    /** Where {@link KeyJoin} reports to, pointed at the current call's context and collector. */
    private final class JoinOutput implements KeyJoin.Output {
        private Context ctx;
        private Collector<TrainingExample> out;
        private String userId;

        void to(Context ctx, Collector<TrainingExample> out, String userId) {
            this.ctx = ctx;
            this.out = out;
            this.userId = userId;
        }

        @Override
        public void emit(TrainingExample example) {
            examplesEmitted.inc();
            if (!example.getLate() && example.getTimeToFirstActionMs() != null) {
                joinDelay.update(example.getTimeToFirstActionMs());
            }
            out.collect(example);
        }

        @Override
        public void reject(SpecificRecordBase record, Rejection why) {
            long now = System.currentTimeMillis();
            deadLetters.count(why);
            if (Rejection.LATE_EVENT.equals(why.code())) {
                lateEventsDropped.inc();
            }
            if (record instanceof Impression impression) {
                ctx.output(DeadLetters.TAG, DeadLetters.ofDecoded(job, impressionsTopic, userId, impression, impressionSerde, why, now));
            } else {
                ctx.output(DeadLetters.TAG, DeadLetters.ofDecoded(job, actionsTopic, userId, (UserAction) record, actionSerde, why, now));
            }
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
