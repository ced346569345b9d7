package dev.streamrec.index;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.StateTtlConfig;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.metrics.Counter;
import org.apache.flink.streaming.api.functions.co.KeyedBroadcastProcessFunction;
import org.apache.flink.util.Collector;
import org.apache.flink.util.OutputTag;

import dev.streamrec.avro.ModelVersion;
import dev.streamrec.avro.RecallRequest;
import dev.streamrec.avro.Trigger;
import dev.streamrec.avro.TriggerVector;
import dev.streamrec.avro.UserFeatures;
import dev.streamrec.avro.UserVector;
import dev.streamrec.jobs.JobMetrics;
import dev.streamrec.jobs.ModelVersions;

/**
 * Turns user-features updates into recall requests, keyed by userId. An update whose user vectors did not change
 * asks for nothing; one that did starts a debounce window (processing time) and the request is issued when it
 * ends, from the latest features, so a burst of actions costs one computation. The request names the serving model
 * version for this user (see {@link ModelVersions#servingVersionFor}) and carries that version's user vector; its
 * i2i seeds (the most recent distinct positive trigger items) go out as vector lookups on {@link #LOOKUPS}.
 */
public class RecallScheduler extends KeyedBroadcastProcessFunction<String, UserFeatures, ModelVersion, RecallRequest> {
    public static final OutputTag<TriggerVector> LOOKUPS =
            new OutputTag<>("trigger-vector-lookups", TypeInformation.of(TriggerVector.class));

    private final RecallSettings settings;

    private transient ValueState<UserFeatures> latest;
    private transient ValueState<Long> pendingTimer;
    private transient ValueState<Long> vectorFingerprint;
    private transient ValueState<Long> lastRequestId;
    private transient Counter requests;
    private transient Counter debounced;
    private transient Counter unchanged;

    public RecallScheduler(RecallSettings settings) {
        this.settings = settings;
    }

    @Override
    public void open(OpenContext openContext) {
        latest = getRuntimeContext().getState(new ValueStateDescriptor<>("pending-features", TypeInformation.of(UserFeatures.class)));
        pendingTimer = getRuntimeContext().getState(new ValueStateDescriptor<>("pending-timer", Types.LONG));
        // What survives a request only serves change detection and request ordering: bounded by a TTL.
        StateTtlConfig ttl = StateTtlConfig.newBuilder(java.time.Duration.ofMillis(settings.userTtlMs())).build();
        ValueStateDescriptor<Long> fp = new ValueStateDescriptor<>("vector-fingerprint", Types.LONG);
        fp.enableTimeToLive(ttl);
        vectorFingerprint = getRuntimeContext().getState(fp);
        ValueStateDescriptor<Long> last = new ValueStateDescriptor<>("last-request-id", Types.LONG);
        last.enableTimeToLive(ttl);
        lastRequestId = getRuntimeContext().getState(last);
        var metrics = JobMetrics.of(getRuntimeContext());
        requests = metrics.counter("recallRequests");
        debounced = metrics.counter("debouncedRequests");
        unchanged = metrics.counter("unchangedVectorUpdates");
    }

    @Override
    public void processElement(UserFeatures features, ReadOnlyContext ctx, Collector<RecallRequest> out) throws Exception {
        long fingerprint = fingerprint(features.getVectors());
        Long known = vectorFingerprint.value();
        if (known != null && known == fingerprint) {
            unchanged.inc();
            return;
        }
        vectorFingerprint.update(fingerprint);
        if (settings.debounceMs() == 0) {
            // No debounce: the request leaves now (a timer would be lost when a bounded input ends first).
            issue(features, ctx.currentProcessingTime(), ctx, out);
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

    @Override
    public void onTimer(long timestamp, OnTimerContext ctx, Collector<RecallRequest> out) throws Exception {
        UserFeatures features = latest.value();
        latest.clear();
        pendingTimer.clear();
        if (features == null) {
            return;
        }
        issue(features, timestamp, ctx, out);
    }

    /** Issues the recall request for the user's latest features, and the lookups of its i2i seeds' vectors. */
    private void issue(UserFeatures features, long timestamp, ReadOnlyContext ctx, Collector<RecallRequest> out) throws Exception {
        Long last = lastRequestId.value();
        // Wall-clock based ids stay increasing even after the TTL dropped the last one.
        long requestId = Math.max(last == null ? 0 : last + 1, timestamp);
        lastRequestId.update(requestId);

        Set<String> userVersions = new HashSet<>();
        for (UserVector v : features.getVectors()) {
            userVersions.add(v.getModelVersion());
        }
        String version = ModelVersions.servingVersionFor(
                ctx.getBroadcastState(ModelVersions.STATE).immutableEntries(), settings.initialServingVersion(), userVersions);
        RecallRequest request = request(features, version, requestId, settings.i2iTriggers(), ctx.currentProcessingTime());
        requests.inc();
        out.collect(request);
        for (String item : request.getTriggerItems()) {
            ctx.output(LOOKUPS, new TriggerVector(features.getUserId(), requestId, item, version, AvroVectors.EMPTY));
        }
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
    public void processBroadcastElement(ModelVersion event, Context ctx, Collector<RecallRequest> out) throws Exception {
        ModelVersions.remember(ctx.getBroadcastState(ModelVersions.STATE), event);
    }
}
