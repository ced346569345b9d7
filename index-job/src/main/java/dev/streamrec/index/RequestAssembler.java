package dev.streamrec.index;

import java.nio.ByteBuffer;
import java.util.HashMap;
import java.util.Map;

import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.metrics.Counter;
import org.apache.flink.streaming.api.functions.co.KeyedCoProcessFunction;
import org.apache.flink.util.Collector;

import dev.streamrec.avro.IndexCommand;
import dev.streamrec.avro.RecallRequest;
import dev.streamrec.avro.TriggerVector;
import dev.streamrec.jobs.JobMetrics;

/**
 * Keyed by userId: waits until a request's trigger vectors are all known, then fans it out to every shard. Requests
 * and vectors travel different paths, so either may come first; a newer request supersedes an older one still
 * waiting (its late vectors are ignored). A request with a {@code notBefore} time (the recomputations a version switch
 * starts, spread at the switch rate) also waits for it, on a processing-time timer.
 */
public class RequestAssembler extends KeyedCoProcessFunction<String, RecallRequest, TriggerVector, IndexCommand> {
    /** A request whose vectors came first is parked with this requestedAt until the request itself arrives. */
    private static final long PLACEHOLDER = -1;

    private final int shards;

    private transient ValueState<RecallRequest> pending;
    private transient Counter superseded;

    public RequestAssembler(int shards) {
        this.shards = shards;
    }

    @Override
    public void open(OpenContext openContext) {
        pending = getRuntimeContext().getState(new ValueStateDescriptor<>("assembling-request", TypeInformation.of(RecallRequest.class)));
        superseded = JobMetrics.of(getRuntimeContext()).counter("supersededRequests");
    }

    @Override
    public void processElement1(RecallRequest request, Context ctx, Collector<IndexCommand> out) throws Exception {
        RecallRequest waiting = pending.value();
        if (waiting != null && waiting.getRequestId() > request.getRequestId()) {
            superseded.inc();
            return;
        }
        if (waiting != null && waiting.getRequestId() < request.getRequestId() && waiting.getRequestedAt() != PLACEHOLDER) {
            superseded.inc();
        }
        RecallRequest current = RecallRequest.newBuilder(request).build();
        if (waiting != null && waiting.getRequestId() == request.getRequestId()) {
            current.getTriggerVectors().putAll(waiting.getTriggerVectors());
        }
        completeOrWait(current, ctx, out);
    }

    @Override
    public void processElement2(TriggerVector vector, Context ctx, Collector<IndexCommand> out) throws Exception {
        RecallRequest waiting = pending.value();
        if (waiting != null && waiting.getRequestId() > vector.getRequestId()) {
            return; // belongs to a superseded request
        }
        if (waiting == null || waiting.getRequestId() < vector.getRequestId()) {
            waiting = RecallRequest.newBuilder()
                    .setUserId(vector.getUserId()).setRequestId(vector.getRequestId()).setModelVersion(vector.getModelVersion())
                    .setUserVector(AvroVectors.EMPTY).setSourceEventTime(0).setRequestedAt(PLACEHOLDER)
                    .setTriggerVectors(new HashMap<>())
                    .build();
        }
        waiting.getTriggerVectors().put(vector.getItemId(), copy(vector.getVector()));
        completeOrWait(waiting, ctx, out);
    }

    @Override
    public void onTimer(long timestamp, OnTimerContext ctx, Collector<IndexCommand> out) throws Exception {
        RecallRequest waiting = pending.value();
        if (waiting != null && waiting.getNotBefore() <= timestamp) {
            completeOrWait(waiting, ctx, out);
        }
    }

    private static boolean complete(RecallRequest request) {
        return request.getRequestedAt() != PLACEHOLDER
                && request.getTriggerVectors().keySet().containsAll(request.getTriggerItems());
    }

    private void completeOrWait(RecallRequest request, Context ctx, Collector<IndexCommand> out) throws Exception {
        if (!complete(request)) {
            pending.update(request);
            return;
        }
        if (request.getNotBefore() > ctx.timerService().currentProcessingTime()) {
            pending.update(request);
            ctx.timerService().registerProcessingTimeTimer(request.getNotBefore());
            return;
        }
        fanOut(request, out);
    }

    private void fanOut(RecallRequest request, Collector<IndexCommand> out) throws Exception {
        pending.clear();
        Map<String, ByteBuffer> known = new HashMap<>();
        request.getTriggerVectors().forEach((item, v) -> {
            if (!AvroVectors.isEmpty(v)) {
                known.put(item, v);
            }
        });
        for (int shard = 0; shard < shards; shard++) {
            RecallRequest forShard = RecallRequest.newBuilder(request).setTriggerVectors(known).setShard(shard).build();
            out.collect(new IndexCommand(null, forShard, null));
        }
    }

    private static ByteBuffer copy(ByteBuffer b) {
        ByteBuffer c = ByteBuffer.allocate(b.remaining());
        c.put(b.duplicate());
        c.flip();
        return c;
    }
}
