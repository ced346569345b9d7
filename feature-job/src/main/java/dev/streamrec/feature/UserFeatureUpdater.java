package dev.streamrec.feature;

import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.MapStateDescriptor;
import org.apache.flink.api.common.state.ReadOnlyBroadcastState;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.metrics.Counter;
import org.apache.flink.streaming.api.functions.co.KeyedBroadcastProcessFunction;
import org.apache.flink.util.Collector;

import dev.streamrec.avro.EnrichedAction;
import dev.streamrec.avro.ModelPhase;
import dev.streamrec.avro.ModelVersion;
import dev.streamrec.avro.UserFeatures;
import dev.streamrec.avro.UserVector;
import dev.streamrec.jobs.QueryableStates;

/**
 * Keyed by userId: applies each enriched action to the user's features ({@link UserFeatureMath}), publishes them as
 * queryable state {@code user-features} and emits them.
 *
 * <p>The broadcast side reads {@code model-versions}: a version that becomes RETIRED is dropped from every user's
 * vectors at once (the topic gets the slimmer record with the user's next action) and ignored in later actions, so
 * users keep one vector per live version.
 *
 * <p>A user inactive for {@code userTtlMs} (wall clock) is dropped by one timer per user (queryable state cannot use
 * Flink's state TTL).
 */
public class UserFeatureUpdater extends KeyedBroadcastProcessFunction<String, EnrichedAction, ModelVersion, UserFeatures> {
    private static final long serialVersionUID = 1L;

    /** Broadcast state: model version -> its latest phase (ModelPhase name). */
    public static final MapStateDescriptor<String, String> MODEL_PHASES =
            new MapStateDescriptor<>("model-phases", Types.STRING, Types.STRING);

    private final FeatureParams params;
    private final long userTtlMs;

    private transient ValueState<UserFeatures> features;
    private transient ValueState<Long> expiryTimer;
    private transient Counter updates;
    private transient Counter lateActions;
    private transient Counter expiredUsers;
    private transient Counter retiredVectors;

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
        retiredVectors = metrics.counter("retiredUserVectors");
    }

    @Override
    public void processElement(EnrichedAction action, ReadOnlyContext ctx, Collector<UserFeatures> out) throws Exception {
        if (action.getAction().getEventTime() < ctx.timerService().currentWatermark()) {
            lateActions.inc(); // still applied: late only means it cannot move "most recent" backwards
        }
        long now = ctx.timerService().currentProcessingTime();
        UserFeatures current = features.value();
        if (current == null) {
            current = UserFeatureMath.empty(ctx.getCurrentKey());
        }
        ReadOnlyBroadcastState<String, String> phases = ctx.getBroadcastState(MODEL_PHASES);
        action.setVectors(liveOnly(action.getVectors(), phases));
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

    private static Map<String, List<Float>> liveOnly(Map<String, List<Float>> vectors, ReadOnlyBroadcastState<String, String> phases)
            throws Exception {
        Map<String, List<Float>> live = null;
        for (String version : vectors.keySet()) {
            if (ModelPhase.RETIRED.name().equals(phases.get(version))) {
                if (live == null) {
                    live = new java.util.HashMap<>(vectors);
                }
                live.remove(version);
            }
        }
        return live == null ? vectors : live;
    }

    @Override
    public void processBroadcastElement(ModelVersion event, Context ctx, Collector<UserFeatures> out) throws Exception {
        ctx.getBroadcastState(MODEL_PHASES).put(event.getVersion(), event.getPhase().name());
        if (event.getPhase() == ModelPhase.RETIRED) {
            String version = event.getVersion();
            ctx.applyToKeyedState(QueryableStates.userFeatures(), (user, state) -> {
                UserFeatures f = state.value();
                if (f != null && f.getVectors().stream().anyMatch(v -> v.getModelVersion().equals(version))) {
                    List<UserVector> kept = f.getVectors().stream()
                            .filter(v -> !v.getModelVersion().equals(version)).collect(Collectors.toList());
                    f.setVectors(kept);
                    state.update(f);
                    retiredVectors.inc();
                }
            });
        }
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
