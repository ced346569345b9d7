package dev.streamrec.index;


import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.metrics.Counter;
import org.apache.flink.streaming.api.functions.co.BroadcastProcessFunction;
import org.apache.flink.util.Collector;

import dev.streamrec.avro.ItemEmbedding;
import dev.streamrec.avro.ItemStatus;
import dev.streamrec.avro.ModelPhase;
import dev.streamrec.avro.ModelVersion;
import dev.streamrec.index.ann.VectorMath;
import dev.streamrec.jobs.JobMetrics;
import dev.streamrec.jobs.ModelVersions;
import dev.streamrec.jobs.io.Checks;
import dev.streamrec.jobs.io.DeadLetters;
import dev.streamrec.jobs.io.Rejection;
import dev.streamrec.schemas.AvroSingleObjectSerde;

/**
 * The item checks that depend on model-versions: an ACTIVE item's vector must have its version's dimension (declared
 * by model-versions, else the configured default), finite values and a direction. Bad items go to dead letters;
 * items of a retired version are counted and skipped (stale, not bad). What passes is identical for every shard and
 * for the trigger-vector store, so both always agree on an item's vectors.
 */
public class ItemValidator extends BroadcastProcessFunction<ItemEmbedding, ModelVersion, ItemEmbedding> {
    private final String job;
    private final String itemsTopic;
    private final int defaultDimension;

    private transient AvroSingleObjectSerde<ItemEmbedding> serde;
    private transient DeadLetters.Metrics deadLetters;
    private transient Counter retiredVersionItems;

    public ItemValidator(String job, String itemsTopic, int defaultDimension) {
        this.job = job;
        this.itemsTopic = itemsTopic;
        this.defaultDimension = defaultDimension;
    }

    @Override
    public void open(OpenContext openContext) {
        serde = AvroSingleObjectSerde.of(ItemEmbedding.class);
        deadLetters = new DeadLetters.Metrics(getRuntimeContext().getMetricGroup());
        retiredVersionItems = JobMetrics.of(getRuntimeContext()).counter("retiredVersionItems");
    }

    @Override
    public void processElement(ItemEmbedding item, ReadOnlyContext ctx, Collector<ItemEmbedding> out) throws Exception {
        ModelVersion version = ctx.getBroadcastState(ModelVersions.STATE).get(item.getModelVersion());
        if (version != null && version.getPhase() == ModelPhase.RETIRED) {
            retiredVersionItems.inc();
            return;
        }
        Rejection rejection = check(item, ModelVersions.dimensionOf(version, defaultDimension));
        if (rejection != null) {
            deadLetters.count(rejection);
            long now = ctx.currentProcessingTime();
            ctx.output(DeadLetters.TAG, DeadLetters.ofDecoded(job, itemsTopic, item.getItemId(), item, serde, rejection, now));
            return;
        }
        out.collect(item);
    }

    /** Null when the item is usable, else why not. */
    static Rejection check(ItemEmbedding item, int dimension) {
        if (item.getStatus() != ItemStatus.ACTIVE) {
            return null;
        }
        Rejection r = Checks.vector("vector", item.getVector(), dimension);
        if (r == null && VectorMath.normalized(AvroVectors.fromList(item.getVector())) == null) {
            r = new Rejection(Rejection.BAD_VECTOR, "vector has zero length");
        }
        return r;
    }

    @Override
    public void processBroadcastElement(ModelVersion event, Context ctx, Collector<ItemEmbedding> out) throws Exception {
        ModelVersions.remember(ctx.getBroadcastState(ModelVersions.STATE), event);
    }
}
