package dev.streamrec.feature;

import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.metrics.Counter;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.util.Collector;

import dev.streamrec.avro.EnrichedAction;
import dev.streamrec.avro.UserFeatures;
import dev.streamrec.jobs.QueryableStates;

/**
 * Keyed by userId: applies each enriched action to the user's features ({@link UserFeatureMath}), publishes them as
 * queryable state {@code user-features} and emits them. A user inactive for {@code userTtlMs} (wall clock) is
 * dropped by one timer per user (queryable state cannot use Flink's state TTL).
 */
public class UserFeatureUpdater extends KeyedProcessFunction<String, EnrichedAction, UserFeatures> {
    private static final long serialVersionUID = 1L;

    private final FeatureParams params;
    private final long userTtlMs;

    private transient ValueState<UserFeatures> features;
    private transient ValueState<Long> expiryTimer;
    private transient Counter updates;
    private transient Counter lateActions;
    private transient Counter expiredUsers;

    public UserFeatureUpdater(FeatureParams params, long userTtlMs) {
        this.params = params;
        this.userTtlMs = userTtlMs;
    }

    @Override
    public void open(OpenContext openContext) {
        features = getRuntimeContext().getState(QueryableStates.userFeatures());
        expiryTimer = getRuntimeContext().getState(new ValueStateDescriptor<>("expiry-timer", Types.LONG));
        var metrics = getRuntimeContext().getMetricGroup().addGroup("streamrec");
        updates = metrics.counter("featureUpdates");
        lateActions = metrics.counter("lateActions");
        expiredUsers = metrics.counter("expiredUsers");
    }

    @Override
    public void processElement(EnrichedAction action, Context ctx, Collector<UserFeatures> out) throws Exception {
        if (action.getAction().getEventTime() < ctx.timerService().currentWatermark()) {
            lateActions.inc(); // still applied: late only means it cannot move "most recent" backwards
        }
        long now = ctx.timerService().currentProcessingTime();
        UserFeatures current = features.value();
        if (current == null) {
            current = UserFeatureMath.empty(ctx.getCurrentKey());
        }
        UserFeatures updated = UserFeatureMath.apply(current, action, params, now);
        features.update(updated);
        updates.inc();
        if (expiryTimer.value() == null) {
            long at = now + userTtlMs;
            ctx.timerService().registerProcessingTimeTimer(at);
            expiryTimer.update(at);
        }
        out.collect(updated);
    }

    @Override
    public void onTimer(long timestamp, OnTimerContext ctx, Collector<UserFeatures> out) throws Exception {
        UserFeatures current = features.value();
        long lastActive = current == null ? Long.MIN_VALUE : current.getUpdatedAt();
        if (current == null || lastActive + userTtlMs <= timestamp) {
            features.clear();
            expiryTimer.clear();
            expiredUsers.inc();
        } else {
            long at = lastActive + userTtlMs;
            ctx.timerService().registerProcessingTimeTimer(at);
            expiryTimer.update(at);
        }
    }
}
