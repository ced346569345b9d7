package dev.streamrec.index;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.BiConsumer;

import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.BroadcastState;
import org.apache.flink.api.common.state.MapStateDescriptor;
import org.apache.flink.api.common.state.ReadOnlyBroadcastState;
import org.apache.flink.api.common.state.StateTtlConfig;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.java.typeutils.EitherTypeInfo;
import org.apache.flink.metrics.Counter;
import org.apache.flink.streaming.api.functions.co.KeyedBroadcastProcessFunction;
import org.apache.flink.types.Either;
import org.apache.flink.util.Collector;
import org.apache.flink.util.OutputTag;

import dev.streamrec.avro.DeadLetter;
import dev.streamrec.avro.IndexControl;
import dev.streamrec.avro.ModelPhase;
import dev.streamrec.avro.ModelVersion;
import dev.streamrec.avro.RecallRefill;
import dev.streamrec.avro.RecallRequest;
import dev.streamrec.avro.Trigger;
import dev.streamrec.avro.TriggerVector;
import dev.streamrec.avro.UserFeatures;
import dev.streamrec.avro.UserVector;
import dev.streamrec.jobs.JobMetrics;
import dev.streamrec.jobs.ModelVersions;
import dev.streamrec.jobs.io.Checks;
import dev.streamrec.jobs.io.DeadLetters;
import dev.streamrec.jobs.io.Rejection;
import dev.streamrec.schemas.AvroSingleObjectSerde;

/**
 * Turns user-features updates into recall requests, keyed by userId. An update whose user vectors did not change
 * asks for nothing; one that did starts a debounce window (processing time) and the request is issued when it
 * ends, from the latest features, so a burst of actions costs one computation. The request names the serving model
 * version for this user (see {@link ModelVersions#servingVersionFor}) and carries that version's user vector; its
 * i2i seeds (the most recent distinct positive trigger items) go out as vector lookups on {@link #LOOKUPS}.
 *
 * <p>A features record with a user vector that does not fit its version (another dimension than the version's,
 * values that are not finite, or all zeros) is a dead letter; the user's previous recall stays.
 *
 * <p>Recall also follows changes that are not the user's (broadcast side: model-versions events and item batches).
 * When a version switch (SERVING or RETIRED) changes the version that serves a user, and when a version whose index
 * had no items when the user's recall was computed gains its first ones, the user's recall is recomputed from their
 * latest features without waiting for their next action. Those recomputations are issued in one pass over this
 * subtask's users and spread: each carries a {@code notBefore} time {@code 1 / recall.switch.rate} seconds after the
 * previous one, which the request assembler waits for, so a switch never floods the shards.
 *
 * <p>The keyed input also carries dedup-job's refills ({@code recall-refills}: too few unseen candidates are left).
 * A refill's exclusions are merged into the user's ({@code seen-exclusions}, see {@link SeenExclusions#merge}: per item
 * the latest {@code until}, expired ones dropped, at most {@code recall.max-excluded-items}), and the user's recall is
 * recomputed at once from their latest features, without debounce; while a debounced request is pending, that request
 * serves the refill. A refill for a user without stored features cannot be served: it is counted
 * ({@code refillsWithoutFeatures}) and its exclusions are kept for the user's next request. Every request this
 * function issues (debounced, follow-up or refill) carries as {@code seenItems} the user's exclusions whose
 * {@code until} is later than the request's {@code sourceEventTime}: no shard returns them in either channel.
 */
public class RecallScheduler
        extends KeyedBroadcastProcessFunction<String, Either<UserFeatures, RecallRefill>, IndexControl, RecallRequest> {
    /** The keyed input's type: a user's features (left) or a refill from dedup-job (right), both Avro, no Kryo. */
    public static final TypeInformation<Either<UserFeatures, RecallRefill>> INPUT =
            new EitherTypeInfo<>(TypeInformation.of(UserFeatures.class), TypeInformation.of(RecallRefill.class));
    public static final OutputTag<TriggerVector> LOOKUPS =
            new OutputTag<>("trigger-vector-lookups", TypeInformation.of(TriggerVector.class));
    /** Broadcast state: model versions whose index has had items -> when that was first seen. */
    public static final MapStateDescriptor<String, Long> VERSIONS_WITH_ITEMS =
            new MapStateDescriptor<>("versions-with-items", Types.STRING, Types.LONG);

    private final RecallSettings settings;
    private final String job;
    private final String featuresTopic;

    private transient ValueState<UserFeatures> latest;
    private transient ValueState<Long> pendingTimer;
    private transient ValueState<Long> vectorFingerprint;
    private transient ValueState<Long> lastRequestId;
    private transient ValueStateDescriptor<UserFeatures> lastFeaturesDescriptor;
    private transient ValueState<UserFeatures> lastFeatures;
    private transient ValueState<String> servedVersion;
    private transient ValueStateDescriptor<String> awaitingItemsOfDescriptor;
    private transient ValueState<String> awaitingItemsOf;
    private transient ValueState<RecallRefill> exclusions;
    private transient AvroSingleObjectSerde<UserFeatures> featuresSerde;
    private transient DeadLetters.Metrics deadLetters;
    private transient Counter requests;
    private transient Counter debounced;
    private transient Counter unchanged;
    private transient Counter followUps;
    private transient Counter refillsReceived;
    private transient Counter refillRequests;
    private transient Counter refillsWithoutFeatures;

    public RecallScheduler(RecallSettings settings, String job, String featuresTopic) {
        this.settings = settings;
        this.job = job;
        this.featuresTopic = featuresTopic;
    }

    @Override
    public void open(OpenContext openContext) {
        latest = getRuntimeContext().getState(new ValueStateDescriptor<>("pending-features", TypeInformation.of(UserFeatures.class)));
        pendingTimer = getRuntimeContext().getState(new ValueStateDescriptor<>("pending-timer", Types.LONG));
        // What survives a request serves change detection, request ordering and follow-ups: bounded by a TTL.
        StateTtlConfig ttl = StateTtlConfig.newBuilder(java.time.Duration.ofMillis(settings.userTtlMs())).build();
        vectorFingerprint = getRuntimeContext().getState(withTtl(new ValueStateDescriptor<>("vector-fingerprint", Types.LONG), ttl));
        lastRequestId = getRuntimeContext().getState(withTtl(new ValueStateDescriptor<>("last-request-id", Types.LONG), ttl));
        lastFeaturesDescriptor = withTtl(new ValueStateDescriptor<>("last-features", TypeInformation.of(UserFeatures.class)), ttl);
        lastFeatures = getRuntimeContext().getState(lastFeaturesDescriptor);
        servedVersion = getRuntimeContext().getState(withTtl(new ValueStateDescriptor<>("served-version", Types.STRING), ttl));
        awaitingItemsOfDescriptor = withTtl(new ValueStateDescriptor<>("awaiting-items-of", Types.STRING), ttl);
        awaitingItemsOf = getRuntimeContext().getState(awaitingItemsOfDescriptor);
        exclusions = getRuntimeContext().getState(
                withTtl(new ValueStateDescriptor<>("seen-exclusions", TypeInformation.of(RecallRefill.class)), ttl));
        featuresSerde = AvroSingleObjectSerde.of(UserFeatures.class);
        deadLetters = new DeadLetters.Metrics(getRuntimeContext().getMetricGroup());
        var metrics = JobMetrics.of(getRuntimeContext());
        requests = metrics.counter("recallRequests");
        debounced = metrics.counter("debouncedRequests");
        unchanged = metrics.counter("unchangedVectorUpdates");
        followUps = metrics.counter("followUpRequests");
        refillsReceived = metrics.counter("refillsReceived");
        refillRequests = metrics.counter("refillRequests");
        refillsWithoutFeatures = metrics.counter("refillsWithoutFeatures");
    }

    /** The refill counters so far, by metric name (the harness tests read them here). */
    Map<String, Long> refillCounts() {
        return Map.of("refillsReceived", refillsReceived.getCount(), "refillRequests", refillRequests.getCount(),
                "refillsWithoutFeatures", refillsWithoutFeatures.getCount());
    }

    /** The user an input is about (its key): the features' or the refill's user. */
    public static String userOf(Either<UserFeatures, RecallRefill> input) {
        return input.isLeft() ? input.left().getUserId() : input.right().getUserId();
    }

    private static <T> ValueStateDescriptor<T> withTtl(ValueStateDescriptor<T> descriptor, StateTtlConfig ttl) {
        descriptor.enableTimeToLive(ttl);
        return descriptor;
    }

    @Override
    public void processElement(Either<UserFeatures, RecallRefill> input, ReadOnlyContext ctx, Collector<RecallRequest> out)
            throws Exception {
        if (input.isRight()) {
            refill(input.right(), ctx, out);
            return;
        }
        UserFeatures features = input.left();
        Rejection bad = badVector(features, ctx.getBroadcastState(ModelVersions.STATE), settings.defaultDimension());
        if (bad != null) {
            deadLetters.count(bad);
            ctx.output(DeadLetters.TAG, DeadLetters.ofDecoded(job, featuresTopic, features.getUserId(), features,
                    featuresSerde, bad, ctx.currentProcessingTime()));
            return;
        }
        lastFeatures.update(features);
        long fingerprint = fingerprint(features.getVectors());
        Long known = vectorFingerprint.value();
        if (known != null && known == fingerprint) {
            unchanged.inc();
            return;
        }
        vectorFingerprint.update(fingerprint);
        if (settings.debounceMs() == 0) {
            // No debounce: the request leaves now (a timer would be lost when a bounded input ends first).
            issue(features, ctx.currentProcessingTime(), 0, ctx.getBroadcastState(ModelVersions.STATE),
                    ctx.getBroadcastState(VERSIONS_WITH_ITEMS), out, ctx::output);
            return;
        }
        latest.update(features);
        if (pendingTimer.value() == null) {
            long at = ctx.timerService().currentProcessingTime() + settings.debounceMs();
            ctx.timerService().registerProcessingTimeTimer(at);
            pendingTimer.update(at);
        } else {
            debounced.inc();
        }
    }

    /** Merges the refill's exclusions into the user's and recomputes the user's recall now, if it can be computed. */
    private void refill(RecallRefill refill, ReadOnlyContext ctx, Collector<RecallRequest> out) throws Exception {
        refillsReceived.inc();
        exclusions.update(SeenExclusions.merge(exclusions.value(), refill, settings.maxExcludedItems()));
        if (pendingTimer.value() != null) {
            return; // the debounced request about to leave carries the exclusions
        }
        UserFeatures features = lastFeatures.value();
        if (features == null) {
            refillsWithoutFeatures.inc();
            return;
        }
        refillRequests.inc();
        issue(features, ctx.currentProcessingTime(), 0, ctx.getBroadcastState(ModelVersions.STATE),
                ctx.getBroadcastState(VERSIONS_WITH_ITEMS), out, ctx::output);
    }

    /** Why the features cannot be used, if one of their vectors does not fit its version; else null. */
    static Rejection badVector(UserFeatures features, ReadOnlyBroadcastState<String, ModelVersion> versions,
                               int defaultDimension) throws Exception {
        for (UserVector v : features.getVectors()) {
            String field = "vector of model version " + v.getModelVersion();
            int dimension = ModelVersions.dimensionOf(versions.get(v.getModelVersion()), defaultDimension);
            Rejection r = Checks.vector(field, v.getVector(), dimension);
            r = r != null ? r : Checks.direction(field, v.getVector());
            if (r != null) {
                return r;
            }
        }
        return null;
    }

    @Override
    public void onTimer(long timestamp, OnTimerContext ctx, Collector<RecallRequest> out) throws Exception {
        UserFeatures features = latest.value();
        latest.clear();
        pendingTimer.clear();
        if (features == null) {
            return;
        }
        issue(features, timestamp, 0, ctx.getBroadcastState(ModelVersions.STATE), ctx.getBroadcastState(VERSIONS_WITH_ITEMS),
                out, ctx::output);
    }

    /**
     * Issues the recall request for the user's latest features, excluding the items they have seen (as of the
     * features' event time), and the lookups of its i2i seeds' vectors.
     */
    private void issue(UserFeatures features, long timestamp, long notBefore,
                       ReadOnlyBroadcastState<String, ModelVersion> versions, ReadOnlyBroadcastState<String, Long> versionsWithItems,
                       Collector<RecallRequest> out, BiConsumer<OutputTag<TriggerVector>, TriggerVector> lookups)
            throws Exception {
        Long last = lastRequestId.value();
        // Wall-clock based ids stay increasing even after the TTL dropped the last one.
        long requestId = Math.max(last == null ? 0 : last + 1, timestamp);
        lastRequestId.update(requestId);

        String version = servingVersion(features, versions);
        servedVersion.update(version);
        if (versionsWithItems.contains(version)) {
            awaitingItemsOf.clear();
        } else {
            awaitingItemsOf.update(version); // its index has had no items: recompute when it gains some
        }
        RecallRequest request = request(features, version, requestId, settings.i2iTriggers(), timestamp);
        request.setNotBefore(notBefore);
        request.setSeenItems(SeenExclusions.seenAt(exclusions.value(), request.getSourceEventTime()));
        requests.inc();
        out.collect(request);
        for (String item : request.getTriggerItems()) {
            lookups.accept(LOOKUPS, new TriggerVector(features.getUserId(), requestId, item, version, AvroVectors.EMPTY));
        }
    }

    private String servingVersion(UserFeatures features, ReadOnlyBroadcastState<String, ModelVersion> versions) throws Exception {
        Set<String> userVersions = new HashSet<>();
        for (UserVector v : features.getVectors()) {
            userVersions.add(v.getModelVersion());
        }
        return ModelVersions.servingVersionFor(versions.immutableEntries(), settings.initialServingVersion(), userVersions);
    }

    /** The request for a user's features under one model version. */
    static RecallRequest request(UserFeatures features, String version, long requestId, int seeds, long now) {
        ByteBuffer userVector = AvroVectors.EMPTY;
        for (UserVector v : features.getVectors()) {
            if (v.getModelVersion().equals(version)) {
                float[] f = AvroVectors.fromList(v.getVector());
                userVector = AvroVectors.toBytes(f);
            }
        }
        Set<String> excluded = new LinkedHashSet<>();
        List<String> seedItems = new ArrayList<>();
        for (Trigger t : features.getTriggers()) { // newest first
            excluded.add(t.getItemId());
            if (t.getWeight() > 0 && seedItems.size() < seeds && !seedItems.contains(t.getItemId())) {
                seedItems.add(t.getItemId());
            }
        }
        return RecallRequest.newBuilder()
                .setUserId(features.getUserId())
                .setRequestId(requestId)
                .setModelVersion(version)
                .setUserVector(userVector)
                .setTriggerItems(seedItems)
                .setExcludedItems(new ArrayList<>(excluded))
                .setSourceEventTime(features.getLastEventTime())
                .setRequestedAt(now)
                .build();
    }

    /** A hash of the user's vectors (version and values): equal vectors, equal fingerprint. */
    static long fingerprint(List<UserVector> vectors) {
        long h = 1125899906842597L;
        for (UserVector v : vectors) {
            h = 31 * h + v.getModelVersion().hashCode();
            h = 31 * h + Arrays.hashCode(AvroVectors.fromList(v.getVector()));
        }
        return h;
    }

    @Override
    public void processBroadcastElement(IndexControl control, Context ctx, Collector<RecallRequest> out) throws Exception {
        BroadcastState<String, ModelVersion> versions = ctx.getBroadcastState(ModelVersions.STATE);
        BroadcastState<String, Long> versionsWithItems = ctx.getBroadcastState(VERSIONS_WITH_ITEMS);
        ModelVersion event = control.getModelVersion();
        if (event != null) {
            if (ModelVersions.remember(versions, event)
                    && (event.getPhase() == ModelPhase.SERVING || event.getPhase() == ModelPhase.RETIRED)) {
                if (event.getPhase() == ModelPhase.RETIRED) {
                    versionsWithItems.remove(event.getVersion());
                }
                // Users whose serving version this switch changes follow it without a new action.
                followUp(ctx, out, versions, versionsWithItems, lastFeaturesDescriptor, features -> {
                    String served = servedVersion.value();
                    return served != null && !served.equals(servingVersion(features, versions));
                });
            }
            return;
        }
        List<String> firstItems = new ArrayList<>();
        for (String version : control.getVersionsWithNewItems()) {
            if (!versionsWithItems.contains(version)) {
                versionsWithItems.put(version, control.getBatchedAt());
                firstItems.add(version);
            }
        }
        if (!firstItems.isEmpty()) {
            // Recall computed while its version's index was empty is recomputed now that it has items: only the
            // users that state marks are visited.
            followUp(ctx, out, versions, versionsWithItems, awaitingItemsOfDescriptor,
                    features -> firstItems.contains(awaitingItemsOf.value()));
        }
    }

    /** A predicate over a user's features that may read the user's other state (the current key is theirs). */
    private interface FollowUpRule {
        boolean applies(UserFeatures features) throws Exception;
    }

    /**
     * Issues spread recomputations for the users of this subtask that have the state {@code among} and that
     * {@code rule} selects (a user whose debounce timer is pending gets a request from it anyway).
     */
    private void followUp(Context ctx, Collector<RecallRequest> out, ReadOnlyBroadcastState<String, ModelVersion> versions,
                          ReadOnlyBroadcastState<String, Long> versionsWithItems, ValueStateDescriptor<?> among,
                          FollowUpRule rule) throws Exception {
        long now = ctx.currentProcessingTime();
        double spacingMs = 1000.0 / Math.max(1, settings.switchRate());
        long[] issued = {0};
        ctx.applyToKeyedState(among, (user, state) -> {
            if (pendingTimer.value() != null) {
                return;
            }
            UserFeatures features = lastFeatures.value();
            if (features != null && rule.applies(features)) {
                // The assembler holds each request until its turn; the first goes after one item batch so that the
                // shards have indexed the items that started it.
                long notBefore = now + settings.itemBatchMs() + (long) (issued[0]++ * spacingMs);
                issue(features, now, notBefore, versions, versionsWithItems, out, ctx::output);
                followUps.inc();
            }
        });
    }
}
