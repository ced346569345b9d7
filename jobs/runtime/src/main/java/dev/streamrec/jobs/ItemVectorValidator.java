package dev.streamrec.jobs;

import java.util.ArrayList;
import java.util.List;
import java.util.function.BiConsumer;

import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.ListState;
import org.apache.flink.api.common.state.ListStateDescriptor;
import org.apache.flink.api.common.state.ReadOnlyBroadcastState;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.metrics.Counter;
import org.apache.flink.streaming.api.functions.co.KeyedBroadcastProcessFunction;
import org.apache.flink.util.Collector;
import org.apache.flink.util.OutputTag;

import dev.streamrec.avro.DeadLetter;
import dev.streamrec.avro.ItemEmbedding;
import dev.streamrec.avro.ItemStatus;
import dev.streamrec.avro.ModelPhase;
import dev.streamrec.avro.ModelVersion;
import dev.streamrec.jobs.config.CommonOptions;
import dev.streamrec.jobs.config.JobConfig;
import dev.streamrec.jobs.io.Checks;
import dev.streamrec.jobs.io.DeadLetters;
import dev.streamrec.jobs.io.Rejection;
import dev.streamrec.schemas.AvroSingleObjectSerde;
import dev.streamrec.schemas.Topic;

/**
 * Keyed by itemId, with model-versions broadcast: the item checks that depend on the item's model version, shared by
 * every job that reads item-embeddings. An ACTIVE item's vector must have its version's dimension (declared on
 * model-versions, else the configured default), finite values and a direction; bad items go to dead letters. Items of
 * a retired version are counted and skipped (stale, not bad). Deletes pass (they carry no vector).
 *
 * <p>The two topics are read side by side, so after a start (above all one without state, from a compacted
 * model-versions topic) an item may arrive before its version's record. Within {@code versionWaitMs} of the start an
 * item of a version not seen yet is held in keyed state until the record arrives (or the wait ends, when the default
 * applies); later items of the same key queue behind it so an item's events keep their order.
 *
 * <p>A model-versions event that declares another dimension than its version already has is refused by every
 * operator ({@link ModelVersions#remember}) and dead-lettered here, once (by subtask 0).
 */
public class ItemVectorValidator extends KeyedBroadcastProcessFunction<String, ItemEmbedding, ModelVersion, ItemEmbedding> {
    private static final long serialVersionUID = 1L;

    static final ListStateDescriptor<ItemEmbedding> AWAITING_VERSION =
            new ListStateDescriptor<>("items-awaiting-version", TypeInformation.of(ItemEmbedding.class));

    private final String job;
    private final String itemsTopic;
    private final String versionsTopic;
    private final int defaultDimension;
    private final long versionWaitMs;

    private transient ListState<ItemEmbedding> awaiting;
    private transient AvroSingleObjectSerde<ItemEmbedding> itemSerde;
    private transient AvroSingleObjectSerde<ModelVersion> versionSerde;
    private transient DeadLetters.Metrics deadLetters;
    private transient Counter retiredVersionItems;
    private transient Counter heldItems;
    /** Processing time until which unknown versions are waited for: the first element's time plus the wait. */
    private transient long waitUntil;

    public ItemVectorValidator(String job, String itemsTopic, String versionsTopic, int defaultDimension, long versionWaitMs) {
        this.job = job;
        this.itemsTopic = itemsTopic;
        this.versionsTopic = versionsTopic;
        this.defaultDimension = defaultDimension;
        this.versionWaitMs = versionWaitMs;
    }

    /** The validator of a job's item-embeddings input: topics and wait from the job's configuration. */
    public static ItemVectorValidator of(JobConfig config, int defaultDimension) {
        return new ItemVectorValidator(config.jobName(), config.topic(Topic.ITEM_EMBEDDINGS),
                config.topic(Topic.MODEL_VERSIONS), defaultDimension, config.getLong(CommonOptions.VERSION_WAIT_MS));
    }

    @Override
    public void open(OpenContext openContext) {
        awaiting = getRuntimeContext().getListState(AWAITING_VERSION);
        itemSerde = AvroSingleObjectSerde.of(ItemEmbedding.class);
        versionSerde = AvroSingleObjectSerde.of(ModelVersion.class);
        deadLetters = new DeadLetters.Metrics(getRuntimeContext().getMetricGroup());
        var metrics = JobMetrics.of(getRuntimeContext());
        retiredVersionItems = metrics.counter("retiredVersionItems");
        heldItems = metrics.counter("itemsAwaitingVersion");
        waitUntil = Long.MIN_VALUE;
    }

    @Override
    public void processElement(ItemEmbedding item, ReadOnlyContext ctx, Collector<ItemEmbedding> out) throws Exception {
        long now = ctx.timerService().currentProcessingTime();
        if (waitUntil == Long.MIN_VALUE) {
            waitUntil = now + versionWaitMs;
        }
        boolean queued = awaiting.get().iterator().hasNext();
        // Only a vector the default would reject waits: the default's fast path stays for jobs without model-versions.
        boolean mayNeedItsVersion = item.getStatus() == ItemStatus.ACTIVE && item.getVector().size() != defaultDimension
                && ctx.getBroadcastState(ModelVersions.STATE).get(item.getModelVersion()) == null;
        if (queued || (mayNeedItsVersion && now < waitUntil)) {
            if (!queued) {
                ctx.timerService().registerProcessingTimeTimer(waitUntil);
            }
            awaiting.add(item);
            heldItems.inc();
            return;
        }
        validate(item, ctx.getBroadcastState(ModelVersions.STATE), now, out, ctx::output);
    }

    @Override
    public void onTimer(long timestamp, OnTimerContext ctx, Collector<ItemEmbedding> out) throws Exception {
        release(awaiting, ctx.getBroadcastState(ModelVersions.STATE), timestamp, out, ctx::output);
    }

    @Override
    public void processBroadcastElement(ModelVersion event, Context ctx, Collector<ItemEmbedding> out) throws Exception {
        ModelVersion known = ctx.getBroadcastState(ModelVersions.STATE).get(event.getVersion());
        String conflict = ModelVersions.isNewer(known, event) ? ModelVersions.conflict(known, event) : null;
        if (conflict != null && getRuntimeContext().getTaskInfo().getIndexOfThisSubtask() == 0) {
            Rejection rejection = new Rejection(Rejection.DIMENSION_CONFLICT, conflict);
            deadLetters.count(rejection);
            ctx.output(DeadLetters.TAG, DeadLetters.ofDecoded(job, versionsTopic, event.getVersion(), event,
                    versionSerde, rejection, ctx.currentProcessingTime()));
        }
        boolean firstOfVersion = known == null;
        if (!ModelVersions.remember(ctx.getBroadcastState(ModelVersions.STATE), event) || !firstOfVersion) {
            return;
        }
        // Items that waited for this version go on once nothing they queue behind waits for another one.
        ReadOnlyBroadcastState<String, ModelVersion> versions = ctx.getBroadcastState(ModelVersions.STATE);
        long now = ctx.currentProcessingTime();
        ctx.applyToKeyedState(AWAITING_VERSION, (itemId, queue) -> {
            boolean allKnown = true;
            for (ItemEmbedding held : queue.get()) {
                allKnown &= held.getStatus() != ItemStatus.ACTIVE || versions.get(held.getModelVersion()) != null;
            }
            if (allKnown) {
                release(queue, versions, now, out, ctx::output);
            }
        });
    }

    private void release(ListState<ItemEmbedding> queue, ReadOnlyBroadcastState<String, ModelVersion> versions, long now,
                         Collector<ItemEmbedding> out, BiConsumer<OutputTag<DeadLetter>, DeadLetter> deadLetterOutput)
            throws Exception {
        List<ItemEmbedding> held = new ArrayList<>();
        queue.get().forEach(held::add);
        queue.clear();
        for (ItemEmbedding item : held) {
            validate(item, versions, now, out, deadLetterOutput);
        }
    }

    private void validate(ItemEmbedding item, ReadOnlyBroadcastState<String, ModelVersion> versions, long now,
                          Collector<ItemEmbedding> out, BiConsumer<OutputTag<DeadLetter>, DeadLetter> deadLetterOutput)
            throws Exception {
        ModelVersion version = versions.get(item.getModelVersion());
        if (version != null && version.getPhase() == ModelPhase.RETIRED) {
            retiredVersionItems.inc();
            return;
        }
        Rejection rejection = check(item, ModelVersions.dimensionOf(version, defaultDimension));
        if (rejection != null) {
            deadLetters.count(rejection);
            deadLetterOutput.accept(DeadLetters.TAG,
                    DeadLetters.ofDecoded(job, itemsTopic, item.getItemId(), item, itemSerde, rejection, now));
            return;
        }
        out.collect(item);
    }

    /** Null when the item is usable with a version of {@code dimension}, else why not. */
    public static Rejection check(ItemEmbedding item, int dimension) {
        if (item.getStatus() != ItemStatus.ACTIVE) {
            return null;
        }
        Rejection r = Checks.vector("vector", item.getVector(), dimension);
        return r != null ? r : Checks.direction("vector", item.getVector());
    }
}
