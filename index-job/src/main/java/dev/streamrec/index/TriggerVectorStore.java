package dev.streamrec.index;


import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.metrics.Counter;
import org.apache.flink.streaming.api.functions.co.KeyedBroadcastProcessFunction;
import org.apache.flink.util.Collector;

import dev.streamrec.avro.IndexCommand;
import dev.streamrec.avro.ItemEmbedding;
import dev.streamrec.avro.ModelPhase;
import dev.streamrec.avro.ModelVersion;
import dev.streamrec.avro.ShardItem;
import dev.streamrec.avro.TriggerVector;
import dev.streamrec.avro.VersionedVector;
import dev.streamrec.jobs.JobMetrics;
import dev.streamrec.jobs.ModelVersions;

/**
 * Item vectors keyed by itemId, to answer "what is trigger item X's vector under version V" before an i2i request
 * fans out to the shards (a shard knows only its own items, but a trigger's neighbours live in every shard). Applies
 * the same item changes as the shards ({@link ItemChanges}), so a deleted item has no vector here either. The answer
 * is empty when the item has no live vector of the version.
 */
public class TriggerVectorStore extends KeyedBroadcastProcessFunction<String, IndexCommand, ModelVersion, TriggerVector> {
    private final long deletedRetentionMs;

    private transient ValueState<ShardItem> item;
    private transient Counter lookups;
    private transient Counter misses;

    public TriggerVectorStore(long deletedRetentionMs) {
        this.deletedRetentionMs = deletedRetentionMs;
    }

    static ValueStateDescriptor<ShardItem> itemDescriptor() {
        return new ValueStateDescriptor<>("trigger-item", TypeInformation.of(ShardItem.class));
    }

    @Override
    public void open(OpenContext openContext) {
        item = getRuntimeContext().getState(itemDescriptor());
        var metrics = JobMetrics.of(getRuntimeContext());
        lookups = metrics.counter("triggerLookups");
        misses = metrics.counter("triggerLookupMisses");
    }

    @Override
    public void processElement(IndexCommand command, ReadOnlyContext ctx, Collector<TriggerVector> out) throws Exception {
        if (command.getItem() != null) {
            apply(command.getItem(), ctx);
        } else if (command.getLookup() != null) {
            TriggerVector lookup = command.getLookup();
            ShardItem current = item.value();
            VersionedVector v = current == null ? null : current.getVersions().get(lookup.getModelVersion());
            lookups.inc();
            if (v == null) {
                misses.inc();
            }
            out.collect(new TriggerVector(lookup.getUserId(), lookup.getRequestId(), lookup.getItemId(),
                    lookup.getModelVersion(), v == null ? AvroVectors.EMPTY : v.getVector()));
        }
    }

    private void apply(ItemEmbedding event, ReadOnlyContext ctx) throws Exception {
        long now = ctx.currentProcessingTime();
        float[] unit = ItemChanges.unitVector(event);
        ItemChanges.Change change = ItemChanges.apply(item.value(), event, unit, () -> 0L, now);
        if (change == null) {
            return;
        }
        item.update(change.item());
        if (change.item().getVersions().isEmpty()) {
            ctx.timerService().registerProcessingTimeTimer(now + deletedRetentionMs);
        }
    }

    @Override
    public void onTimer(long timestamp, OnTimerContext ctx, Collector<TriggerVector> out) throws Exception {
        ShardItem current = item.value();
        if (current != null && ItemChanges.isExpiredTombstone(current, timestamp, deletedRetentionMs)) {
            item.clear();
        }
    }

    @Override
    public void processBroadcastElement(ModelVersion event, Context ctx, Collector<TriggerVector> out) throws Exception {
        if (ModelVersions.remember(ctx.getBroadcastState(ModelVersions.STATE), event) && event.getPhase() == ModelPhase.RETIRED) {
            String retired = event.getVersion();
            ctx.applyToKeyedState(itemDescriptor(), (itemId, state) -> {
                ShardItem current = state.value();
                if (current != null && ItemChanges.dropVersion(current, retired)) {
                    if (current.getVersions().isEmpty()) {
                        state.clear();
                    } else {
                        state.update(current);
                    }
                }
            });
        }
    }
}
