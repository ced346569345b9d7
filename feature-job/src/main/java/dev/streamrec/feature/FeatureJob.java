package dev.streamrec.feature;

import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;

import dev.streamrec.avro.EnrichedAction;
import dev.streamrec.avro.ItemEmbedding;
import dev.streamrec.avro.ModelVersion;
import dev.streamrec.avro.UserAction;
import dev.streamrec.avro.UserFeatures;
import dev.streamrec.jobs.ItemVectorValidator;
import dev.streamrec.jobs.JobGraph;
import dev.streamrec.jobs.JobSetup;
import dev.streamrec.jobs.ModelVersions;
import dev.streamrec.jobs.PipelineJob;
import dev.streamrec.jobs.config.JobConfig;
import dev.streamrec.jobs.io.RecordValidators;
import dev.streamrec.jobs.io.Tombstones;
import dev.streamrec.schemas.Topic;

/**
 * feature-job: user-actions + item-embeddings -> user-features (topic and queryable state).
 *
 * <pre>
 * user-actions ─decode/validate─▶ keyBy(itemId) ─┐
 *                                                 ├─ ItemEnricher ─▶ keyBy(userId) ─ UserFeatureUpdater ─▶ user-features
 * item-embeddings ─decode─▶ keyBy(itemId) ─ validate(dimension per version) ─┘
 * model-versions ─▶ broadcast to the item validator and ─▶ UserFeatureUpdater (queryable "user-features")
 * every bad record ─▶ dead-letters
 * </pre>
 */
public class FeatureJob extends PipelineJob {
    public static final String NAME = "feature-job";

    public FeatureJob() {
        // Operator uids are "feature-<name>": stable across versions, they map savepoint state to operators.
        super(NAME, "feature", FeatureOptions.ALL);
    }

    public static void main(String[] args) throws Exception {
        JobSetup.main(new FeatureJob(), args);
    }

    @Override
    protected void wire(JobGraph graph) {
        JobConfig config = graph.config();
        DataStream<UserAction> actions = graph
                .read(Topic.USER_ACTIONS, "actions", UserAction.class,
                        RecordValidators.userAction(RecordValidators.skew(config)), WatermarkStrategy.noWatermarks())
                .assignTimestampsAndWatermarks(JobSetup.watermarks(config, (a, ts) -> a.getEventTime()))
                .uid(graph.uid("actions-watermarks")).name("event time");

        SingleOutputStreamOperator<ModelVersion> modelVersions = graph.read(Topic.MODEL_VERSIONS, "model-versions",
                ModelVersion.class, RecordValidators.modelVersion(), JobSetup.withoutEventTimeClock());

        // Each version's vectors are checked against its own dimension (from model-versions; the option is the
        // default for versions that declare none).
        SingleOutputStreamOperator<ItemEmbedding> items = graph.deadLettersOf(graph
                .read(Topic.ITEM_EMBEDDINGS, "items", ItemEmbedding.class,
                        RecordValidators.itemEmbeddingWithoutVector(RecordValidators.futureSkewOnly(config)),
                        Tombstones.itemDeletes(), JobSetup.withoutEventTimeClock())
                .keyBy(ItemEmbedding::getItemId)
                .connect(modelVersions.broadcast(ModelVersions.STATE))
                .process(ItemVectorValidator.of(config, config.getInt(FeatureOptions.DIMENSION)))
                .uid(graph.uid("items-validate")).name("validate item vectors"));

        SingleOutputStreamOperator<EnrichedAction> enriched = graph.deadLettersOf(actions.keyBy(UserAction::getItemId)
                .connect(items.keyBy(ItemEmbedding::getItemId))
                .process(ItemEnricher.from(config), EnrichedActionSerializer.TYPE)
                .uid(graph.uid("enrich-actions-with-items")).name("enrich actions with items"));

        // A custom operator (micro-batches flushed before each checkpoint barrier); the broadcast input keeps its
        // phases in the operator's broadcast state.
        SingleOutputStreamOperator<UserFeatures> features = enriched.keyBy(e -> e.getAction().getUserId())
                .connect(modelVersions.broadcast())
                .transform("user features", TypeInformation.of(UserFeatures.class), UserFeatureUpdater.from(config))
                .uid(graph.uid("user-features")).name("user features");

        graph.write(features, Topic.USER_FEATURES, UserFeatures.class, UserFeatures::getUserId, "user-features");
    }
}
