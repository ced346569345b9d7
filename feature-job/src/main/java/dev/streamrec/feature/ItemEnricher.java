package dev.streamrec.feature;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.ListState;
import org.apache.flink.api.common.state.ListStateDescriptor;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.metrics.Counter;
import org.apache.flink.streaming.api.functions.co.KeyedCoProcessFunction;
import org.apache.flink.util.Collector;

import dev.streamrec.avro.EnrichedAction;
import dev.streamrec.avro.ItemEmbedding;
import dev.streamrec.avro.ItemProfile;
import dev.streamrec.avro.ItemStatus;
import dev.streamrec.avro.UserAction;
import dev.streamrec.jobs.JobMetrics;
import dev.streamrec.jobs.io.DeadLetters;
import dev.streamrec.jobs.io.Rejection;
import dev.streamrec.jobs.io.Tombstones;
import dev.streamrec.schemas.AvroSingleObjectSerde;
import dev.streamrec.schemas.Topic;

/**
 * Keyed by itemId: joins each action with the item's latest vectors (one per model version) and attributes.
 *
 * <p>An action for an item with no embedding yet is held, at most {@code maxHeld} per item and at most
 * {@code holdTimeoutMs} (wall clock) after the first of them was held; it is applied when the item arrives.
 * Actions beyond either bound go to the dead letters (reason {@code hold-expired}) and are counted.
 * A deleted item keeps its vectors for {@code deletedRetentionMs} so late actions on it still count, then its
 * state is dropped.
 *
 * <p>The profiles of the {@code cacheSize} most recently used items are also kept decoded on the heap (a
 * write-through copy of this subtask's state, which only this function writes; a new instance after a restore starts
 * empty), so an action on a popular item costs no state read and no Avro decoding.
 */
public class ItemEnricher extends KeyedCoProcessFunction<String, UserAction, ItemEmbedding, EnrichedAction> {
    private static final long serialVersionUID = 1L;

    private final String job;
    private final String actionsTopic;
    private final int maxHeld;
    private final long holdTimeoutMs;
    private final long deletedRetentionMs;
    private final int cacheSize;

    private transient ValueState<ItemProfile> profile;
    private transient Map<String, ItemProfile> cache;
    private transient ListState<UserAction> held;
    private transient ValueState<Integer> heldCount;
    private transient ValueState<Long> holdDeadline;
    private transient AvroSingleObjectSerde<UserAction> actionSerde;
    private transient DeadLetters.Metrics deadLetters;
    private transient Counter heldActions;
    private transient Counter releasedActions;
    private transient Counter staleItemUpdates;

    public ItemEnricher(String job, String actionsTopic, int maxHeld, long holdTimeoutMs, long deletedRetentionMs, int cacheSize) {
        this.job = job;
        this.actionsTopic = actionsTopic;
        this.maxHeld = maxHeld;
        this.holdTimeoutMs = holdTimeoutMs;
        this.deletedRetentionMs = deletedRetentionMs;
        this.cacheSize = cacheSize;
    }

    public static ItemEnricher from(dev.streamrec.jobs.config.JobConfig config) {
        return new ItemEnricher(config.jobName(), config.topic(Topic.USER_ACTIONS),
                config.getInt(FeatureOptions.HOLD_MAX_ACTIONS), config.getLong(FeatureOptions.HOLD_TIMEOUT_MS),
                config.getLong(FeatureOptions.DELETED_ITEM_RETENTION_MS), config.getInt(FeatureOptions.ITEM_CACHE_SIZE));
    }

    @Override
    public void open(OpenContext openContext) {
        profile = getRuntimeContext().getState(new ValueStateDescriptor<>("item-profile", TypeInformation.of(ItemProfile.class)));
        cache = new LinkedHashMap<>(16, 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<String, ItemProfile> eldest) {
                return size() > cacheSize;
            }
        };
        held = getRuntimeContext().getListState(new ListStateDescriptor<>("held-actions", TypeInformation.of(UserAction.class)));
        heldCount = getRuntimeContext().getState(new ValueStateDescriptor<>("held-count", Types.INT));
        holdDeadline = getRuntimeContext().getState(new ValueStateDescriptor<>("hold-deadline", Types.LONG));
        actionSerde = AvroSingleObjectSerde.of(UserAction.class);
        deadLetters = new DeadLetters.Metrics(getRuntimeContext().getMetricGroup());
        var metrics = JobMetrics.of(getRuntimeContext());
        heldActions = metrics.counter("heldActions");
        releasedActions = metrics.counter("releasedHeldActions");
        staleItemUpdates = metrics.counter("staleItemUpdates");
    }

    @Override
    public void processElement1(UserAction action, Context ctx, Collector<EnrichedAction> out) throws Exception {
        ItemProfile item = cache.get(ctx.getCurrentKey());
        if (item == null) {
            item = profile.value();
            if (item != null && cacheSize > 0) {
                cache.put(ctx.getCurrentKey(), item);
            }
        }
        if (item != null && !item.getVectors().isEmpty()) {
            out.collect(enrich(action, item));
            return;
        }
        int count = heldCount.value() == null ? 0 : heldCount.value();
        if (count >= maxHeld) {
            reject(action, "item " + action.getItemId() + " already has " + maxHeld + " actions waiting for its embedding", ctx);
            return;
        }
        if (count == 0) {
            long deadline = ctx.timerService().currentProcessingTime() + holdTimeoutMs;
            holdDeadline.update(deadline);
            ctx.timerService().registerProcessingTimeTimer(deadline);
        }
        held.add(action);
        heldCount.update(count + 1);
        heldActions.inc();
    }

    @Override
    public void processElement2(ItemEmbedding embedding, Context ctx, Collector<EnrichedAction> out) throws Exception {
        cache.remove(ctx.getCurrentKey()); // the next action reads the profile this update stores
        ItemProfile item = profile.value();
        if (item == null) {
            // A builder, not the all-fields constructor: a build whose ItemProfile has more fields still runs this.
            item = ItemProfile.newBuilder().setItemId(embedding.getItemId()).setCategory(null).setTags(new ArrayList<>())
                    .setDeleted(false).setVectors(new HashMap<>()).setVersionTimes(new HashMap<>()).setUpdatedAt(0L).build();
        }
        Long seen = item.getVersionTimes().get(embedding.getModelVersion());
        Long allDeleted = item.getVersionTimes().get(Tombstones.ALL_VERSIONS); // a tombstone deletes every version
        if ((seen != null && seen > embedding.getEventTime()) || (allDeleted != null && allDeleted > embedding.getEventTime())) {
            staleItemUpdates.inc(); // an older event replayed after a newer one: keep the newer
            return;
        }
        long now = ctx.timerService().currentProcessingTime();
        item.getVersionTimes().put(embedding.getModelVersion(), embedding.getEventTime());
        item.setUpdatedAt(now);
        if (embedding.getStatus() == ItemStatus.DELETED) {
            item.setDeleted(true);
            ctx.timerService().registerProcessingTimeTimer(now + deletedRetentionMs);
        } else {
            item.setDeleted(false);
            item.getVectors().put(embedding.getModelVersion(), embedding.getVector());
            item.setCategory(embedding.getCategory());
            item.setTags(embedding.getTags());
        }
        profile.update(item);
        if (!item.getVectors().isEmpty() && heldCount.value() != null) {
            for (UserAction action : held.get()) {
                out.collect(enrich(action, item));
                releasedActions.inc();
            }
            clearHeld(ctx);
        }
    }

    @Override
    public void onTimer(long timestamp, OnTimerContext ctx, Collector<EnrichedAction> out) throws Exception {
        Long deadline = holdDeadline.value();
        if (deadline != null && deadline <= timestamp) {
            for (UserAction action : held.get()) {
                reject(action, "embedding of item " + action.getItemId() + " did not arrive within " + holdTimeoutMs + " ms", ctx);
            }
            clearHeld(ctx);
        }
        ItemProfile item = profile.value();
        if (item != null && item.getDeleted() && item.getUpdatedAt() + deletedRetentionMs <= timestamp) {
            profile.clear();
            cache.remove(ctx.getCurrentKey());
        }
    }

    private void clearHeld(Context ctx) throws Exception {
        Long deadline = holdDeadline.value();
        if (deadline != null) {
            ctx.timerService().deleteProcessingTimeTimer(deadline);
        }
        held.clear();
        heldCount.clear();
        holdDeadline.clear();
    }

    private void reject(UserAction action, String detail, Context ctx) {
        Rejection rejection = new Rejection(Rejection.HOLD_EXPIRED, detail);
        deadLetters.count(rejection);
        ctx.output(DeadLetters.TAG, DeadLetters.ofDecoded(job, actionsTopic, action.getUserId(), action, actionSerde,
                rejection, ctx.timerService().currentProcessingTime()));
    }

    static EnrichedAction enrich(UserAction action, ItemProfile item) {
        return new EnrichedAction(action, item.getCategory(), item.getTags(), item.getVectors());
    }
}
