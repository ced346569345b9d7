package dev.streamrec.feature;

import java.util.List;

import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;

import dev.streamrec.avro.DeadLetter;
import dev.streamrec.avro.EnrichedAction;
import dev.streamrec.avro.ItemEmbedding;
import dev.streamrec.avro.ModelVersion;
import dev.streamrec.avro.UserAction;
import dev.streamrec.avro.UserFeatures;
import dev.streamrec.jobs.JobSetup;
import dev.streamrec.jobs.PipelineJob;
import dev.streamrec.jobs.config.JobConfig;
import dev.streamrec.jobs.config.Option;
import dev.streamrec.jobs.io.DeadLetters;
import dev.streamrec.jobs.io.DecodeAndValidate;
import dev.streamrec.jobs.io.KafkaIO;
import dev.streamrec.jobs.io.RecordValidators;
import dev.streamrec.schemas.Topic;

/**
 * feature-job: user-actions + item-embeddings -> user-features (topic and queryable state).
 *
 * <pre>
 * user-actions ─decode/validate─▶ keyBy(itemId) ─┐
 *                                                 ├─ ItemEnricher ─▶ keyBy(userId) ─ UserFeatureUpdater ─▶ user-features
 * item-embeddings ─decode/validate─▶ keyBy(itemId)┘                 model-versions ─▶ ┘ (queryable "user-features")
 * every bad record ─▶ dead-letters
 * </pre>
 */
public class FeatureJob implements PipelineJob {
    public static final String NAME = "feature-job";

    /** Operator uids: stable across versions, they map savepoint state to operators. Never change one. */
    public static final class Uids {
        public static final String ACTIONS_SOURCE = "feature-actions-source";
        public static final String ACTIONS_DECODE = "feature-actions-decode";
        public static final String ACTIONS_WATERMARKS = "feature-actions-watermarks";
        public static final String ITEMS_SOURCE = "feature-items-source";
        public static final String ITEMS_DECODE = "feature-items-decode";
        public static final String MODEL_VERSIONS_SOURCE = "feature-model-versions-source";
        public static final String MODEL_VERSIONS_DECODE = "feature-model-versions-decode";
        public static final String ENRICH = "feature-enrich-actions-with-items";
        public static final String USER_FEATURES = "feature-user-features";
        public static final String FEATURES_SINK = "feature-user-features-sink";
        public static final String DEAD_LETTER_SINK = "feature-dead-letters-sink";

        private Uids() {}
    }

    public static void main(String[] args) throws Exception {
        JobSetup.main(new FeatureJob(), args);
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public List<Option> options() {
        return FeatureOptions.ALL;
    }

    @Override
    public void define(StreamExecutionEnvironment env, JobConfig config) {
        SingleOutputStreamOperator<UserAction> decodedActions = env
                .fromSource(KafkaIO.rawSource(config, Topic.USER_ACTIONS), WatermarkStrategy.noWatermarks(), "user-actions")
                .uid(Uids.ACTIONS_SOURCE)
                .process(new DecodeAndValidate<>(NAME, UserAction.class, RecordValidators.userAction(RecordValidators.skew(config))))
                .uid(Uids.ACTIONS_DECODE).name("decode user-actions");
        DataStream<UserAction> actions = decodedActions
                .assignTimestampsAndWatermarks(JobSetup.watermarks(config, (a, ts) -> a.getEventTime()))
                .uid(Uids.ACTIONS_WATERMARKS).name("event time");

        SingleOutputStreamOperator<ItemEmbedding> items = env
                .fromSource(KafkaIO.rawSource(config, Topic.ITEM_EMBEDDINGS), JobSetup.withoutEventTimeClock(), "item-embeddings")
                .uid(Uids.ITEMS_SOURCE)
                .process(new DecodeAndValidate<>(NAME, ItemEmbedding.class,
                        RecordValidators.itemEmbedding(config.getInt(FeatureOptions.DIMENSION), RecordValidators.futureSkewOnly(config))))
                .uid(Uids.ITEMS_DECODE).name("decode item-embeddings");

        SingleOutputStreamOperator<EnrichedAction> enriched = actions.keyBy(UserAction::getItemId)
                .connect(items.keyBy(ItemEmbedding::getItemId))
                .process(ItemEnricher.from(config), EnrichedActionSerializer.TYPE)
                .uid(Uids.ENRICH).name("enrich actions with items");

        SingleOutputStreamOperator<ModelVersion> modelVersions = env
                .fromSource(KafkaIO.rawSource(config, Topic.MODEL_VERSIONS), JobSetup.withoutEventTimeClock(), "model-versions")
                .uid(Uids.MODEL_VERSIONS_SOURCE)
                .process(new DecodeAndValidate<>(NAME, ModelVersion.class, RecordValidators.modelVersion()))
                .uid(Uids.MODEL_VERSIONS_DECODE).name("decode model-versions");

        // A custom operator (micro-batches flushed before each checkpoint barrier); the broadcast input keeps its
        // phases in the operator's broadcast state UserFeatureUpdater.MODEL_PHASES.
        SingleOutputStreamOperator<UserFeatures> features = enriched.keyBy(e -> e.getAction().getUserId())
                .connect(modelVersions.broadcast())
                .transform("user features", TypeInformation.of(UserFeatures.class), UserFeatureUpdater.from(config))
                .uid(Uids.USER_FEATURES).name("user features");

        features.sinkTo(KafkaIO.avroSink(config, Topic.USER_FEATURES, UserFeatures.class, UserFeatures::getUserId, "user-features"))
                .uid(Uids.FEATURES_SINK).name("user-features sink");

        DataStream<DeadLetter> deadLetters = decodedActions.getSideOutput(DeadLetters.TAG)
                .union(items.getSideOutput(DeadLetters.TAG), modelVersions.getSideOutput(DeadLetters.TAG),
                        enriched.getSideOutput(DeadLetters.TAG));
        deadLetters.sinkTo(DeadLetters.sink(config))
                .uid(Uids.DEAD_LETTER_SINK).name("dead-letters sink");
    }
}
