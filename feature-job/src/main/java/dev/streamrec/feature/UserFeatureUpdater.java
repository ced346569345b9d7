package dev.streamrec.feature;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

import org.apache.flink.api.common.state.BroadcastState;
import org.apache.flink.api.common.state.MapStateDescriptor;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.Histogram;
import org.apache.flink.runtime.metrics.DescriptiveStatisticsHistogram;
import org.apache.flink.runtime.state.VoidNamespace;
import org.apache.flink.runtime.state.VoidNamespaceSerializer;
import org.apache.flink.streaming.api.operators.InternalTimer;
import org.apache.flink.streaming.api.operators.InternalTimerService;
import org.apache.flink.streaming.api.operators.Triggerable;
import org.apache.flink.streaming.api.operators.TwoInputStreamOperator;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;

import dev.streamrec.avro.EnrichedAction;
import dev.streamrec.avro.ModelPhase;
import dev.streamrec.avro.ModelVersion;
import dev.streamrec.avro.UserFeatures;
import dev.streamrec.avro.UserVector;
import dev.streamrec.jobs.JobMetrics;
import dev.streamrec.jobs.MicroBatchOperator;
import dev.streamrec.jobs.ModelVersions;
import dev.streamrec.schemas.QueryableStates;
import dev.streamrec.schemas.Records;

/**
 * Keyed by userId (input 1: enriched actions; input 2, broadcast: model-versions): applies each action to the user's
 * features ({@link UserFeatureMath}), publishes them as queryable state {@code user-features} and emits them.
 *
 * <p><b>Micro-batches.</b> Actions are applied at once, in arrival order, to an in-memory copy of the user's
 * features; the copy is read from state on the user's first action of the batch. A flush writes each touched user
 * back to state once and emits one record per user (the latest; {@code updateSeq} still counts every action, so it
 * jumps by the number of actions the batch held). A batch is flushed {@code maxDelayMs} (processing time) after its
 * first action, when it holds {@code maxActions} actions, before every checkpoint barrier (so a checkpoint never
 * misses a buffered action: exactly-once holds), before a broadcast element, and at end of input. Watermarks that
 * arrive while a batch is open are forwarded after its records. {@code maxDelayMs = 0} applies and emits each action
 * on its own. The result equals one-by-one application: only the intermediate records of a batch are not emitted.
 *
 * <p>The broadcast side reads {@code model-versions}: a version that becomes RETIRED is dropped from every user's
 * vectors at once (the topic gets the slimmer record with the user's next action) and ignored in later actions, so
 * users keep one vector per live version.
 *
 * <p>A user inactive for {@code userTtlMs} (wall clock) is dropped by one timer per user, registered when the user's
 * features are created (a user has stored features exactly while it has a timer; queryable state cannot use
 * Flink's state TTL).
 */
public class UserFeatureUpdater extends MicroBatchOperator<UserFeatures>
        implements TwoInputStreamOperator<EnrichedAction, ModelVersion, UserFeatures>, Triggerable<String, VoidNamespace> {
    private static final long serialVersionUID = 2L;

    /**
     * Broadcast state of releases up to 0.1.0: model version -> its latest phase (ModelPhase name), without event
     * times. Read once on restore into {@link ModelVersions#STATE}, then cleared.
     */
    static final MapStateDescriptor<String, String> LEGACY_MODEL_PHASES =
            new MapStateDescriptor<>("model-phases", Types.STRING, Types.STRING);

    private final FeatureParams params;
    private final long userTtlMs;

    private transient Histogram freshness;
    private transient ValueState<UserFeatures> features;
    /** Broadcast state: model version -> its latest control event (replayed older events do not overwrite it). */
    private transient BroadcastState<String, ModelVersion> versions;
    private transient InternalTimerService<VoidNamespace> expiryTimers;
    /** The open batch: user -> features with the batch's actions applied. Insertion order = emit order. */
    private transient Map<String, Pending> batch;
    private transient StreamRecord<UserFeatures> reuse;
    private transient Counter updates;
    private transient Counter lateActions;
    private transient Counter expiredUsers;
    private transient Counter retiredVectors;
    private transient Counter flushes;
    private transient Counter staleVersionEvents;

    /** A user's features within the open batch. */
    private static final class Pending {
        final UserFeatures features;
        final boolean created;
        long timestamp;

        Pending(UserFeatures features, boolean created) {
            this.features = features;
            this.created = created;
        }
    }

    public UserFeatureUpdater(FeatureParams params, long userTtlMs, long maxDelayMs, int maxActions) {
        super(maxDelayMs, maxActions);
        this.params = params;
        this.userTtlMs = userTtlMs;
    }

    public static UserFeatureUpdater from(dev.streamrec.jobs.config.JobConfig config) {
        return new UserFeatureUpdater(FeatureParams.from(config), config.getLong(FeatureOptions.USER_TTL_MS),
                config.getLong(FeatureOptions.BATCH_MAX_DELAY_MS), config.getInt(FeatureOptions.BATCH_MAX_ACTIONS));
    }

    @Override
    public void open() throws Exception {
        super.open();
        Records.useGeneratedCoders(); // state and network (de)serialization of this task's records
        features = getPartitionedState(QueryableStates.userFeatures());
        versions = getOperatorStateBackend().getBroadcastState(ModelVersions.STATE);
        migrateLegacyPhases();
        expiryTimers = getInternalTimerService("user-timers", VoidNamespaceSerializer.INSTANCE, this);
        batch = new LinkedHashMap<>();
        reuse = new StreamRecord<>(null);
        var metrics = JobMetrics.of(getRuntimeContext());
        updates = metrics.counter("featureUpdates");
        lateActions = metrics.counter("lateActions");
        expiredUsers = metrics.counter("expiredUsers");
        retiredVectors = metrics.counter("retiredUserVectors");
        flushes = metrics.counter("featureBatches");
        // Wall clock at the write minus the latest action's event time: how fresh served features are (for live
        // traffic; a replay of old events shows its age instead). The dashboard's freshness panel.
        freshness = metrics.histogram("freshnessMillis", new DescriptiveStatisticsHistogram(1000));
        staleVersionEvents = metrics.counter("staleModelVersionEvents");
    }

    /**
     * A savepoint of 0.1.0 keeps phases without event times: they become control events older than any real one
     * (so the next event of each version is taken as it comes, as 0.1.0 did).
     */
    private void migrateLegacyPhases() throws Exception {
        if (!getOperatorStateBackend().getRegisteredBroadcastStateNames().contains(LEGACY_MODEL_PHASES.getName())) {
            return; // not restored from 0.1.0: registering the old state would only carry an empty one along
        }
        BroadcastState<String, String> legacy = getOperatorStateBackend().getBroadcastState(LEGACY_MODEL_PHASES);
        for (Map.Entry<String, String> e : legacy.entries()) {
            if (!versions.contains(e.getKey())) {
                versions.put(e.getKey(), ModelVersion.newBuilder().setVersion(e.getKey())
                        .setPhase(ModelPhase.valueOf(e.getValue())).setEventTime(Long.MIN_VALUE).build());
            }
        }
        legacy.clear();
    }

    @Override
    public void processElement1(StreamRecord<EnrichedAction> element) throws Exception {
        EnrichedAction action = element.getValue();
        if (action.getAction().getEventTime() < inputWatermark()) {
            lateActions.inc(); // still applied: late only means it cannot move "most recent" backwards
        }
        String user = (String) getCurrentKey();
        Pending pending = batch.get(user);
        if (pending == null) {
            UserFeatures stored = features.value();
            pending = new Pending(stored == null ? UserFeatureMath.empty(user) : stored, stored == null);
            batch.put(user, pending);
        }
        action.setVectors(liveOnly(action.getVectors()));
        UserFeatureMath.add(pending.features, action, params, getProcessingTimeService().getCurrentProcessingTime());
        pending.timestamp = element.hasTimestamp() ? element.getTimestamp() : Long.MIN_VALUE;
        updates.inc();
        added();
    }

    /** Writes every user of the open batch back to state once and emits its latest features. */
    @Override
    protected void writeBatch() throws Exception {
        if (batch.isEmpty()) {
            return; // its users expired meanwhile
        }
        for (Pending p : batch.values()) {
            UserFeatureMath.summarize(p.features);
            setCurrentKey(p.features.getUserId());
            features.update(p.features);
            freshness.update(p.features.getUpdatedAt() - p.features.getLastEventTime());
            if (p.created) {
                expiryTimers.registerProcessingTimeTimer(VoidNamespace.INSTANCE, p.features.getUpdatedAt() + userTtlMs);
            }
            if (p.timestamp == Long.MIN_VALUE) {
                reuse.replace(p.features).eraseTimestamp();
            } else {
                reuse.replace(p.features, p.timestamp);
            }
            output.collect(reuse);
        }
        batch.clear();
        flushes.inc();
    }

    private Map<String, List<Float>> liveOnly(Map<String, List<Float>> vectors) throws Exception {
        Map<String, List<Float>> live = null;
        for (String version : vectors.keySet()) {
            ModelVersion known = versions.get(version);
            if (known != null && known.getPhase() == ModelPhase.RETIRED) {
                if (live == null) {
                    live = new java.util.HashMap<>(vectors);
                }
                live.remove(version);
            }
        }
        return live == null ? vectors : live;
    }

    @Override
    public void processElement2(StreamRecord<ModelVersion> element) throws Exception {
        flush(); // the open batch reaches state first, so a retirement applies to it too
        ModelVersion event = element.getValue();
        if (!ModelVersions.remember(versions, event)) {
            staleVersionEvents.inc(); // a replayed older event: a retired version never comes back
            return;
        }
        if (event.getPhase() == ModelPhase.RETIRED) {
            String version = event.getVersion();
            getKeyedStateBackend().applyToAllKeys(VoidNamespace.INSTANCE, VoidNamespaceSerializer.INSTANCE,
                    QueryableStates.userFeatures(), (user, state) -> {
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
    public void onEventTime(InternalTimer<String, VoidNamespace> timer) {
        // no event-time timers
    }

    @Override
    public void onProcessingTime(InternalTimer<String, VoidNamespace> timer) throws Exception {
        long timestamp = timer.getTimestamp();
        Pending pending = batch.get(timer.getKey());
        UserFeatures current = pending != null ? pending.features : features.value();
        if (current == null || current.getUpdatedAt() + userTtlMs <= timestamp) {
            features.clear();
            batch.remove(timer.getKey());
            expiredUsers.inc();
        } else {
            expiryTimers.registerProcessingTimeTimer(VoidNamespace.INSTANCE, current.getUpdatedAt() + userTtlMs);
        }
    }
}
