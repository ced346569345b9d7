package dev.streamrec.index;

import java.time.Duration;

import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.streaming.api.datastream.BroadcastStream;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;
import org.apache.flink.streaming.api.windowing.assigners.TumblingProcessingTimeWindows;
import org.apache.flink.types.Either;

import dev.streamrec.avro.IndexCommand;
import dev.streamrec.avro.IndexControl;
import dev.streamrec.avro.ItemEmbedding;
import dev.streamrec.avro.ModelVersion;
import dev.streamrec.avro.RecallRefill;
import dev.streamrec.avro.RecallRequest;
import dev.streamrec.avro.RecallResult;
import dev.streamrec.avro.ShardAnswer;
import dev.streamrec.avro.TriggerVector;
import dev.streamrec.avro.UserFeatures;
import dev.streamrec.index.ann.Sharding;
import dev.streamrec.jobs.ItemVectorValidator;
import dev.streamrec.jobs.JobGraph;
import dev.streamrec.jobs.JobSetup;
import dev.streamrec.jobs.ModelVersions;
import dev.streamrec.jobs.PipelineJob;
import dev.streamrec.jobs.config.JobConfig;
import dev.streamrec.jobs.io.Checks;
import dev.streamrec.jobs.io.RecordValidators;
import dev.streamrec.jobs.io.Tombstones;
import dev.streamrec.schemas.Topic;

/**
 * index-job: item-embeddings + user-features + recall-refills + model-versions -> recall (topic and queryable state).
 *
 * <pre>
 * item-embeddings ─decode─ keyBy(itemId) ─ ItemVectorValidator ─┬─▶ keyBy(shard) ───────────────────────────▶ ShardIndexFunction ─┐
 *                                                               └─▶ keyBy(itemId) ─ TriggerVectorStore ─┐       ▲                 │
 * user-features ──decode─▶ Left ──┐                                                                     │       │                 │
 *                                 ├─▶ keyBy(userId) ─ RecallScheduler ─ lookups ────────────────────────┘       │                 │
 * recall-refills ─decode─▶ Right ─┘                   └─ request ─▶ keyBy(userId) ─ RequestAssembler ─ fan-out ─┘                 │
 *                                                                  recall ◀─ RecallMerger (queryable "recall") ◀─ keyBy(userId) ◀─┘
 * model-versions ─decode─▶ broadcast to the validator, scheduler, trigger store and shards
 * validated items ─▶ windowAll(recall.item-batch.ms) ─ batches of deletes and versions gaining items ─▶ broadcast to
 *                    the merger (deletes leave every stored recall) and the scheduler (with model-versions: follow-ups)
 * every bad record ─▶ dead-letters
 * </pre>
 *
 * <p>Features and dedup-job's refills reach the scheduler as one keyed input ({@code Either}: Left features, Right
 * refills); a refill recomputes the user's recall at once, and every request carries the user's seen items
 * ({@code seenItems}), which no shard returns.
 */
public class IndexJob extends PipelineJob {
    public static final String NAME = "index-job";

    public IndexJob() {
        // Operator uids are "index-<name>": stable across versions, they map savepoint state to operators.
        super(NAME, "index", IndexOptions.ALL);
    }

    public static void main(String[] args) throws Exception {
        JobSetup.main(new IndexJob(), args);
    }

    @Override
    protected void wire(JobGraph graph) {
        JobConfig config = graph.config();
        RecallSettings settings = RecallSettings.from(config);
        int shards = settings.shards();
        if (shards < 1) {
            throw new IllegalArgumentException(IndexOptions.SHARDS.key() + " must be positive, got " + shards);
        }

        graph.env().setBufferTimeout(config.getLong(IndexOptions.BUFFER_TIMEOUT_MS));

        SingleOutputStreamOperator<ModelVersion> versionEvents = graph.read(Topic.MODEL_VERSIONS, "model-versions",
                ModelVersion.class, RecordValidators.modelVersion(), WatermarkStrategy.noWatermarks());
        BroadcastStream<ModelVersion> versions = versionEvents.broadcast(ModelVersions.STATE);

        SingleOutputStreamOperator<ItemEmbedding> items = graph.deadLettersOf(graph
                .read(Topic.ITEM_EMBEDDINGS, "items", ItemEmbedding.class,
                        RecordValidators.itemEmbeddingWithoutVector(RecordValidators.futureSkewOnly(config)),
                        Tombstones.itemDeletes(), WatermarkStrategy.noWatermarks())
                .keyBy(ItemEmbedding::getItemId)
                .connect(versions)
                .process(ItemVectorValidator.of(config, settings.defaultDimension()))
                .uid(graph.uid("items-validate")).name("validate item vectors"));
        DataStream<IndexCommand> itemCommands = items
                .map(item -> new IndexCommand(item, null, null)).returns(TypeInformation.of(IndexCommand.class))
                .uid(graph.uid("item-commands")).name("item change");

        SingleOutputStreamOperator<UserFeatures> features = graph.read(Topic.USER_FEATURES, "user-features",
                UserFeatures.class, (f, now) -> Checks.id("userId", f.getUserId()), WatermarkStrategy.noWatermarks());
        // dedup-job's refills: recompute a user's recall without the items they have seen. One keyed input with the
        // features (Either of the two Avro types, so no Kryo), keeping the scheduler's uid and state.
        SingleOutputStreamOperator<RecallRefill> refills = graph.read(Topic.RECALL_REFILLS, "recall-refills",
                RecallRefill.class, (r, now) -> Checks.id("userId", r.getUserId()), WatermarkStrategy.noWatermarks());
        DataStream<Either<UserFeatures, RecallRefill>> schedulerInput = features
                .map(f -> Either.<UserFeatures, RecallRefill>Left(f)).returns(RecallScheduler.INPUT)
                .uid(graph.uid("scheduler-features")).name("features to schedule")
                .union(refills
                        .map(r -> Either.<UserFeatures, RecallRefill>Right(r)).returns(RecallScheduler.INPUT)
                        .uid(graph.uid("scheduler-refills")).name("refills to schedule"));

        // Deletes and versions gaining items, batched: the merger applies a batch to every stored recall in one pass,
        // the scheduler recomputes recall that was computed while its version's index was empty.
        SingleOutputStreamOperator<IndexControl> itemBatches = items
                .windowAll(TumblingProcessingTimeWindows.of(Duration.ofMillis(settings.itemBatchMs())))
                .aggregate(new ItemChangeBatcher(), TypeInformation.of(IndexControl.class), TypeInformation.of(IndexControl.class))
                .uid(graph.uid("item-change-batches")).name("batch item changes");
        DataStream<IndexControl> schedulerControls = versionEvents
                .map(v -> IndexControl.newBuilder().setModelVersion(v).build()).returns(TypeInformation.of(IndexControl.class))
                .uid(graph.uid("model-version-controls")).name("model version control")
                .union(itemBatches);

        SingleOutputStreamOperator<RecallRequest> requests = graph.deadLettersOf(schedulerInput
                .keyBy(RecallScheduler::userOf, Types.STRING)
                .connect(schedulerControls.broadcast(ModelVersions.STATE, RecallScheduler.VERSIONS_WITH_ITEMS))
                .process(new RecallScheduler(settings, NAME, config.topic(Topic.USER_FEATURES)))
                .uid(graph.uid("recall-scheduler")).name("schedule recall (debounce)"));

        DataStream<IndexCommand> lookups = requests.getSideOutput(RecallScheduler.LOOKUPS)
                .map(lookup -> new IndexCommand(null, null, lookup)).returns(TypeInformation.of(IndexCommand.class))
                .uid(graph.uid("trigger-lookup-commands")).name("trigger lookup");
        SingleOutputStreamOperator<TriggerVector> triggerVectors = itemCommands.union(lookups)
                .keyBy(IndexJob::itemKey, Types.STRING)
                .connect(versions)
                .process(new TriggerVectorStore(settings.deletedRetentionMs()))
                .uid(graph.uid("trigger-vectors")).name("trigger vectors");

        SingleOutputStreamOperator<IndexCommand> queries = requests.keyBy(RecallRequest::getUserId)
                .connect(triggerVectors.keyBy(TriggerVector::getUserId))
                .process(new RequestAssembler(shards))
                .uid(graph.uid("request-assembler")).name("assemble and fan out");

        SingleOutputStreamOperator<ShardAnswer> answers = itemCommands.union(queries)
                .keyBy(command -> shardKey(command, shards), Types.INT)
                .connect(versions)
                .process(new ShardIndexFunction(settings))
                .uid(graph.uid("shards")).name("index shards");

        SingleOutputStreamOperator<RecallResult> recall = answers.keyBy(ShardAnswer::getUserId)
                .connect(itemBatches.broadcast(RecallMerger.RECENT_DELETES, RecallMerger.HASHES_COMPLETE))
                .process(new RecallMerger(settings))
                .uid(graph.uid("recall-merger")).name("merge recall");

        graph.write(recall, Topic.RECALL, RecallResult.class, RecallResult::getUserId, "recall");
    }

    /** Items and lookups of the trigger-vector store are keyed by item id. */
    static String itemKey(IndexCommand command) {
        return command.getItem() != null ? command.getItem().getItemId() : command.getLookup().getItemId();
    }

    /** Items go to their item's shard; a fanned-out query names its shard. */
    static int shardKey(IndexCommand command, int shards) {
        return command.getItem() != null ? Sharding.shardOf(command.getItem().getItemId(), shards) : command.getQuery().getShard();
    }
}
