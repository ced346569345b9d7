package dev.streamrec.feature;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import org.apache.flink.core.execution.JobClient;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import dev.streamrec.avro.ActionType;
import dev.streamrec.avro.DeadLetter;
import dev.streamrec.avro.ModelPhase;
import dev.streamrec.avro.ModelVersion;
import dev.streamrec.avro.UserAction;
import dev.streamrec.avro.UserFeatures;
import dev.streamrec.client.QueryableStateReader;
import dev.streamrec.jobs.JobSetup;
import dev.streamrec.jobs.config.JobConfig;
import dev.streamrec.schemas.QueryableStates;
import dev.streamrec.schemas.Topic;
import dev.streamrec.testkit.KafkaTestIO;
import dev.streamrec.testkit.PipelineTestCluster;

/**
 * feature-job end to end: a real Kafka broker and a Flink MiniCluster with RocksDB. Produces items and actions with
 * a plain producer, reads user-features with a plain read_committed consumer and through queryable state, and
 * checks both against the independent reference; bad input reaches the dead-letter topic.
 */
class FeatureJobIntegrationTest {
    @RegisterExtension
    static final PipelineTestCluster CLUSTER = new PipelineTestCluster();

    static KafkaTestIO kafka;

    static JobConfig config() {
        return new FeatureJob().parseConfig(
                "--bootstrap.servers", CLUSTER.bootstrapServers(),
                "--topic.prefix", CLUSTER.topicPrefix(),
                "--parallelism", "2",
                "--checkpoint.interval.ms", "500",
                "--features.vector-dimension", String.valueOf(FeatureScenario.DIMENSION),
                "--source.starting-offsets", "earliest");
    }

    @AfterAll
    static void close() {
        if (kafka != null) {
            kafka.close();
        }
    }

    @Test
    void featuresOnTheTopicAndThroughQueryableStateEqualTheReference() throws Exception {
        CLUSTER.createPipelineTopics(2);
        kafka = new KafkaTestIO(CLUSTER.bootstrapServers());
        String prefix = CLUSTER.topicPrefix();
        JobConfig config = config();
        JobClient job = JobSetup.submit(new FeatureJob(), CLUSTER.environment(), config);
        CLUSTER.awaitJobRunning(job.getJobID(), Duration.ofMinutes(1));

        FeatureScenario scenario = new FeatureScenario(20, 60, 600, 7);
        scenario.produceAll(kafka, prefix);
        // Bad input: bytes that are no Avro message, and an action this job does not know.
        kafka.produce(Topic.USER_ACTIONS.name(prefix), "user-0", "not avro".getBytes(StandardCharsets.UTF_8), System.currentTimeMillis());
        UserAction unknown = Fixtures.action("user-0", "item-1", ActionType.UNKNOWN, System.currentTimeMillis());
        kafka.produce(Topic.USER_ACTIONS.name(prefix), "user-0", unknown, System.currentTimeMillis());

        Map<String, ReferenceFeatures> expected = scenario.expected(FeatureParams.from(config));
        Map<String, UserFeatures> fromTopic = FeatureScenario.readFinalFeatures(kafka, prefix, scenario.actionsPerUser());
        assertThat(fromTopic.keySet()).isEqualTo(expected.keySet());
        expected.forEach((user, reference) -> reference.assertMatches(fromTopic.get(user)));

        try (QueryableStateReader reader = new QueryableStateReader(CLUSTER.queryableStateClient())) {
            for (Map.Entry<String, ReferenceFeatures> e : expected.entrySet()) {
                UserFeatures queried = reader.lookup(job.getJobID(), e.getKey(), QueryableStates.userFeatures(),
                        Duration.ofSeconds(30), f -> f.getUpdateSeq() == e.getValue().count);
                assertThat(queried).as("queryable state of %s", e.getKey()).isEqualTo(fromTopic.get(e.getKey()));
                e.getValue().assertMatches(queried);
            }
        }

        // Rollover: retiring v2 drops it from every user at once, through the model-versions topic.
        kafka.produce(Topic.MODEL_VERSIONS.name(prefix), "v2", ModelVersion.newBuilder().setVersion("v2")
                .setPhase(ModelPhase.RETIRED).setEventTime(System.currentTimeMillis()).build(), System.currentTimeMillis());
        try (QueryableStateReader reader = new QueryableStateReader(CLUSTER.queryableStateClient())) {
            for (String user : expected.keySet()) {
                UserFeatures after = reader.lookup(job.getJobID(), user, QueryableStates.userFeatures(), Duration.ofSeconds(60),
                        f -> f.getVectors().stream().noneMatch(v -> v.getModelVersion().equals("v2")));
                assertThat(after.getVectors()).as("vectors of %s after v2 retired", user)
                        .extracting(v -> v.getModelVersion()).containsExactly("v1");
            }
        }

        List<KafkaTestIO.Received<DeadLetter>> deadLetters =
                kafka.consume(Topic.DEAD_LETTERS.name(prefix), DeadLetter.class, 2, Duration.ofMinutes(1));
        assertThat(deadLetters).extracting(r -> r.decoded().getReason())
                .anySatisfy(reason -> assertThat(reason).startsWith("undecodable"))
                .anySatisfy(reason -> assertThat(reason).startsWith("unknown-enum"));
        assertThat(deadLetters).allSatisfy(r -> {
            assertThat(r.key()).isEqualTo("user-0");
            assertThat(r.decoded().getJob()).isEqualTo("feature-job");
            assertThat(r.decoded().getTopic()).isEqualTo(Topic.USER_ACTIONS.name(prefix));
        });
        job.cancel().get();
    }
}
