package dev.streamrec.index;

import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.streaming.api.datastream.BroadcastStream;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;

import dev.streamrec.avro.IndexCommand;
import dev.streamrec.avro.ItemEmbedding;
import dev.streamrec.avro.ModelVersion;
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
 * index-job: item-embeddings + user-features + model-versions -> recall (topic and queryable state).
 *
 * <pre>
 * item-embeddings ─decode─ keyBy(itemId) ─ validate(dimension per version) ─┬─▶ keyBy(shard) ─────────────▶ ShardIndexFunction ─┐
 *                                                           └─▶ keyBy(itemId) ─ TriggerVectorStore ─┐  ▲          │
 * user-features ─decode─▶ keyBy(userId) ─ RecallScheduler (debounce) ─ lookups ─────────────────────┘  │          │
 *                                              └─ request ─▶ keyBy(userId) ─ RequestAssembler ─ fan-out ┘          │
 *                                                      recall ◀─ RecallMerger (queryable "recall") ◀─ keyBy(userId)┘
 * model-versions ─decode─▶ broadcast to the validator, scheduler, trigger store and shards
 * every bad record ─▶ dead-letters
 * </pre>
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

        BroadcastStream<ModelVersion> versions = graph.read(Topic.MODEL_VERSIONS, "model-versions", ModelVersion.class,
                RecordValidators.modelVersion(), WatermarkStrategy.noWatermarks()).broadcast(ModelVersions.STATE);

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

        SingleOutputStreamOperator<RecallRequest> requests = features
                .keyBy(UserFeatures::getUserId)
                .connect(versions)
                .process(new RecallScheduler(settings))
                .uid(graph.uid("recall-scheduler")).name("schedule recall (debounce)");

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
