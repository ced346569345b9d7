package dev.streamrec.index;

import java.util.List;

import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.streaming.api.datastream.BroadcastStream;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;

import dev.streamrec.avro.DeadLetter;
import dev.streamrec.avro.ItemEmbedding;
import dev.streamrec.avro.ModelVersion;
import dev.streamrec.avro.RecallRequest;
import dev.streamrec.avro.RecallResult;
import dev.streamrec.avro.ShardAnswer;
import dev.streamrec.avro.ShardCommand;
import dev.streamrec.avro.TriggerVector;
import dev.streamrec.avro.UserFeatures;
import dev.streamrec.index.ann.Sharding;
import dev.streamrec.jobs.JobSetup;
import dev.streamrec.jobs.PipelineJob;
import dev.streamrec.jobs.config.JobConfig;
import dev.streamrec.jobs.config.Option;
import dev.streamrec.jobs.io.Checks;
import dev.streamrec.jobs.io.DeadLetters;
import dev.streamrec.jobs.io.DecodeAndValidate;
import dev.streamrec.jobs.io.KafkaIO;
import dev.streamrec.jobs.io.RecordValidators;
import dev.streamrec.schemas.Topic;

/**
 * index-job: item-embeddings + user-features + model-versions -> recall (topic and queryable state).
 *
 * <pre>
 * item-embeddings ─decode─ validate(dimension per version) ─┬─▶ keyBy(shard) ─────────────▶ ShardIndexFunction ─┐
 *                                                           └─▶ keyBy(itemId) ─ TriggerVectorStore ─┐  ▲          │
 * user-features ─decode─▶ keyBy(userId) ─ RecallScheduler (debounce) ─ lookups ─────────────────────┘  │          │
 *                                              └─ request ─▶ keyBy(userId) ─ RequestAssembler ─ fan-out ┘          │
 *                                                      recall ◀─ RecallMerger (queryable "recall") ◀─ keyBy(userId)┘
 * model-versions ─decode─▶ broadcast to the validator, scheduler, trigger store and shards
 * every bad record ─▶ dead-letters
 * </pre>
 */
public class IndexJob implements PipelineJob {
    public static final String NAME = "index-job";

    /** Operator uids: stable across versions, they map savepoint state to operators. Never change one. */
    public static final class Uids {
        public static final String ITEMS_SOURCE = "index-items-source";
        public static final String ITEMS_DECODE = "index-items-decode";
        public static final String ITEMS_VALIDATE = "index-items-validate";
        public static final String FEATURES_SOURCE = "index-user-features-source";
        public static final String FEATURES_DECODE = "index-user-features-decode";
        public static final String MODEL_VERSIONS_SOURCE = "index-model-versions-source";
        public static final String MODEL_VERSIONS_DECODE = "index-model-versions-decode";
        public static final String SCHEDULER = "index-recall-scheduler";
        public static final String TRIGGER_VECTORS = "index-trigger-vectors";
        public static final String ASSEMBLER = "index-request-assembler";
        public static final String SHARDS = "index-shards";
        public static final String MERGER = "index-recall-merger";
        public static final String RECALL_SINK = "index-recall-sink";
        public static final String DEAD_LETTER_SINK = "index-dead-letters-sink";

        private Uids() {}
    }

    public static void main(String[] args) throws Exception {
        JobSetup.main(new IndexJob(), args);
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public List<Option> options() {
        return IndexOptions.ALL;
    }

    @Override
    public void define(StreamExecutionEnvironment env, JobConfig config) {
        RecallSettings settings = RecallSettings.from(config);
        int shards = settings.shards();
        if (shards < 1) {
            throw new IllegalArgumentException(IndexOptions.SHARDS.key() + " must be positive, got " + shards);
        }

        env.setBufferTimeout(config.getLong(IndexOptions.BUFFER_TIMEOUT_MS));

        SingleOutputStreamOperator<ModelVersion> modelVersions = env
                .fromSource(KafkaIO.rawSource(config, Topic.MODEL_VERSIONS), WatermarkStrategy.noWatermarks(), "model-versions")
                .uid(Uids.MODEL_VERSIONS_SOURCE)
                .process(new DecodeAndValidate<>(NAME, ModelVersion.class, RecordValidators.modelVersion()))
                .uid(Uids.MODEL_VERSIONS_DECODE).name("decode model-versions");
        BroadcastStream<ModelVersion> versions = modelVersions.broadcast(ModelVersions.STATE);

        SingleOutputStreamOperator<ItemEmbedding> decodedItems = env
                .fromSource(KafkaIO.rawSource(config, Topic.ITEM_EMBEDDINGS), WatermarkStrategy.noWatermarks(), "item-embeddings")
                .uid(Uids.ITEMS_SOURCE)
                .process(new DecodeAndValidate<>(NAME, ItemEmbedding.class,
                        RecordValidators.itemEmbeddingWithoutVector(RecordValidators.futureSkewOnly(config))))
                .uid(Uids.ITEMS_DECODE).name("decode item-embeddings");
        SingleOutputStreamOperator<ItemEmbedding> items = decodedItems
                .connect(versions)
                .process(new ItemValidator(NAME, config.topic(Topic.ITEM_EMBEDDINGS), settings.defaultDimension()))
                .uid(Uids.ITEMS_VALIDATE).name("validate item vectors");
        DataStream<ShardCommand> itemCommands = items
                .map(item -> new ShardCommand(item, null, null)).returns(TypeInformation.of(ShardCommand.class))
                .name("item change");

        SingleOutputStreamOperator<UserFeatures> features = env
                .fromSource(KafkaIO.rawSource(config, Topic.USER_FEATURES), WatermarkStrategy.noWatermarks(), "user-features")
                .uid(Uids.FEATURES_SOURCE)
                .process(new DecodeAndValidate<>(NAME, UserFeatures.class, (f, now) -> Checks.id("userId", f.getUserId())))
                .uid(Uids.FEATURES_DECODE).name("decode user-features");

        SingleOutputStreamOperator<RecallRequest> requests = features
                .keyBy(UserFeatures::getUserId)
                .connect(versions)
                .process(new RecallScheduler(settings))
                .uid(Uids.SCHEDULER).name("schedule recall (debounce)");

        DataStream<ShardCommand> lookups = requests.getSideOutput(RecallScheduler.LOOKUPS)
                .map(lookup -> new ShardCommand(null, null, lookup)).returns(TypeInformation.of(ShardCommand.class))
                .name("trigger lookup");
        SingleOutputStreamOperator<TriggerVector> triggerVectors = itemCommands.union(lookups)
                .keyBy(IndexJob::itemKey, Types.STRING)
                .connect(versions)
                .process(new TriggerVectorStore(settings.deletedRetentionMs()))
                .uid(Uids.TRIGGER_VECTORS).name("trigger vectors");

        SingleOutputStreamOperator<ShardCommand> queries = requests.keyBy(RecallRequest::getUserId)
                .connect(triggerVectors.keyBy(TriggerVector::getUserId))
                .process(new RequestAssembler(shards))
                .uid(Uids.ASSEMBLER).name("assemble and fan out");

        SingleOutputStreamOperator<ShardAnswer> answers = itemCommands.union(queries)
                .keyBy(command -> shardKey(command, shards), Types.INT)
                .connect(versions)
                .process(new ShardIndexFunction(settings))
                .uid(Uids.SHARDS).name("index shards");

        SingleOutputStreamOperator<RecallResult> recall = answers.keyBy(ShardAnswer::getUserId)
                .process(new RecallMerger(settings))
                .uid(Uids.MERGER).name("merge recall");

        recall.sinkTo(KafkaIO.avroSink(config, Topic.RECALL, RecallResult.class, RecallResult::getUserId, "recall"))
                .uid(Uids.RECALL_SINK).name("recall sink");

        DataStream<DeadLetter> deadLetters = modelVersions.getSideOutput(DeadLetters.TAG)
                .union(decodedItems.getSideOutput(DeadLetters.TAG), items.getSideOutput(DeadLetters.TAG),
                        features.getSideOutput(DeadLetters.TAG));
        deadLetters.sinkTo(DeadLetters.sink(config))
                .uid(Uids.DEAD_LETTER_SINK).name("dead-letters sink");
    }

    /** Items and lookups of the trigger-vector store are keyed by item id. */
    static String itemKey(ShardCommand command) {
        return command.getItem() != null ? command.getItem().getItemId() : command.getLookup().getItemId();
    }

    /** Items go to their item's shard; a fanned-out query names its shard. */
    static int shardKey(ShardCommand command, int shards) {
        return command.getItem() != null ? Sharding.shardOf(command.getItem().getItemId(), shards) : command.getQuery().getShard();
    }
}
