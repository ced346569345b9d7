package dev.streamrec.feature;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.sink.v2.DiscardingSink;
import org.junit.jupiter.api.Test;

import dev.streamrec.avro.ActionType;
import dev.streamrec.avro.ItemEmbedding;
import dev.streamrec.avro.ModelPhase;
import dev.streamrec.avro.ModelVersion;
import dev.streamrec.avro.UserAction;
import dev.streamrec.avro.UserFeatures;
import dev.streamrec.jobs.JobSetup;
import dev.streamrec.jobs.config.JobConfig;
import dev.streamrec.schemas.Topic;
import dev.streamrec.testkit.CollectionIO;
import dev.streamrec.testkit.OperatorUids;

/**
 * The whole feature-job graph without a broker: bounded collections in, collecting sinks out, on a local MiniCluster
 * with RocksDB. Decoding, validation, enrichment, micro-batches and the dead-letter sink all run as in production.
 */
class FeatureJobGraphTest {
    /** The uids the released savepoints were taken with: changing one loses that operator's state on upgrade. */
    static final List<String> RELEASED_UIDS = List.of(
            "Sink Committer: feature-dead-letters-sink", "Sink Committer: feature-user-features-sink",
            "feature-actions-decode", "feature-actions-source", "feature-actions-watermarks",
            "feature-dead-letters-sink", "feature-enrich-actions-with-items", "feature-items-decode", "feature-items-source",
            "feature-model-versions-decode", "feature-model-versions-source", "feature-user-features",
            "feature-user-features-sink");
    /** Operators added since the last release: they start without state when a released savepoint is restored. */
    static final List<String> ADDED_UIDS = List.of("feature-items-validate");

    static JobConfig config() {
        return new FeatureJob().parseConfig("--parallelism", "1", "--checkpoint.interval.ms", "1000",
                "--features.vector-dimension", String.valueOf(FeatureScenario.DIMENSION));
    }

    @Test
    void featuresEqualTheReferenceAndBadInputIsDeadLettered() throws Exception {
        FeatureScenario scenario = new FeatureScenario(15, 40, 400, 11);
        // Sources run side by side here, so an action can meet its item before the item's v2 arrives; one version
        // keeps the reference (every action sees all versions of its item) exact.
        scenario.items.removeIf(i -> i.getModelVersion().equals("v2"));
        scenario.v2ById.clear();
        scenario.items.add(scenario.lateItem);
        scenario.itemById.put(scenario.lateItem.getItemId(), scenario.lateItem);

        CollectionIO io = new CollectionIO()
                .input(Topic.ITEM_EMBEDDINGS, ItemEmbedding.class, ItemEmbedding::getItemId, scenario.items)
                .input(Topic.USER_ACTIONS, UserAction.class, UserAction::getUserId, scenario.actions)
                .input(Topic.MODEL_VERSIONS, ModelVersion.class, ModelVersion::getVersion, List.of(ModelVersion.newBuilder()
                        .setVersion("v1").setPhase(ModelPhase.SERVING).setEventTime(scenario.base).build()))
                .raw(Topic.USER_ACTIONS, "user-0".getBytes(StandardCharsets.UTF_8), "not avro".getBytes(StandardCharsets.UTF_8));
        ItemEmbedding wrongDimension = Fixtures.item("item-bad", "v1", Fixtures.vector(1, FeatureScenario.DIMENSION + 1),
                "cat", List.of(), scenario.base);
        io.input(Topic.ITEM_EMBEDDINGS, ItemEmbedding.class, ItemEmbedding::getItemId, List.of(wrongDimension));

        JobConfig config = config();
        io.run(new FeatureJob(), config);

        Map<String, UserFeatures> latest = new HashMap<>();
        Map<String, Long> previousSeq = new HashMap<>();
        for (UserFeatures f : io.<UserFeatures>output(Topic.USER_FEATURES)) {
            assertThat(f.getUpdateSeq()).as("updateSeq of %s increases", f.getUserId())
                    .isGreaterThan(previousSeq.getOrDefault(f.getUserId(), 0L));
            previousSeq.put(f.getUserId(), f.getUpdateSeq());
            latest.put(f.getUserId(), f);
        }
        Map<String, ReferenceFeatures> expected = scenario.expected(FeatureParams.from(config));
        assertThat(latest.keySet()).isEqualTo(expected.keySet());
        expected.forEach((user, reference) -> reference.assertMatches(latest.get(user)));

        assertThat(io.deadLetterCodes()).containsExactly("bad-vector", "undecodable");
    }

    @Test
    void everyOperatorHasTheReleasedStableUid() {
        assertThat(OperatorUids.of(new FeatureJob(), config()))
                .isEqualTo(java.util.stream.Stream.concat(RELEASED_UIDS.stream(), ADDED_UIDS.stream()).sorted().toList());
    }

    @Test
    void anOperatorWithoutUidFailsTheGraph() {
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        JobSetup.configure(env, config());
        env.fromData(1, 2, 3).uid("numbers").map(i -> i + 1).returns(Types.INT).sinkTo(new DiscardingSink<>()).uid("discard");
        // JobSetup turns auto-generated uids off: Flink itself refuses to build the graph.
        assertThatThrownBy(() -> OperatorUids.of(env)).hasMessageContaining("Auto generated UIDs have been disabled");
    }

    @Test
    void twoOperatorsSharingAUidFailTheCheck() {
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        JobSetup.configure(env, config());
        env.fromData(1, 2, 3).uid("numbers").map(i -> i + 1).returns(Types.INT).uid("numbers")
                .sinkTo(new DiscardingSink<>()).uid("discard");
        assertThatThrownBy(() -> OperatorUids.of(env)).hasMessageContaining("share uid 'numbers'");
    }
}
