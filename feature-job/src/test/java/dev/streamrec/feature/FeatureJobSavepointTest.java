package dev.streamrec.feature;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;
import java.util.Map;

import org.apache.flink.configuration.Configuration;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.core.execution.SavepointFormatType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import dev.streamrec.avro.UserAction;
import dev.streamrec.avro.UserFeatures;
import dev.streamrec.jobs.JobSetup;
import dev.streamrec.jobs.config.JobConfig;
import dev.streamrec.testkit.KafkaTestIO;
import dev.streamrec.testkit.PipelineTestCluster;

/**
 * Stop feature-job with a savepoint while input is still flowing (and actions are held waiting for an item),
 * restart it from the savepoint, feed more: the result equals an uninterrupted run (the independent reference,
 * which the integration test shows an uninterrupted run matches) and the output topic, read_committed, has no
 * duplicate in any user's update sequence (which ends at the user's number of actions).
 */
class FeatureJobSavepointTest {
    @RegisterExtension
    static final PipelineTestCluster CLUSTER = new PipelineTestCluster();

    @Test
    void stopWithSavepointAndResumeEqualsAnUninterruptedRun() throws Exception {
        CLUSTER.createPipelineTopics(2);
        String prefix = CLUSTER.topicPrefix();
        JobConfig config = new FeatureJob().parseConfig(
                "--bootstrap.servers", CLUSTER.bootstrapServers(), "--topic.prefix", prefix, "--parallelism", "2",
                "--checkpoint.interval.ms", "500", "--features.vector-dimension", String.valueOf(FeatureScenario.DIMENSION),
                "--source.starting-offsets", "earliest");
        FeatureScenario scenario = new FeatureScenario(15, 40, 800, 11);
        List<UserAction> firstHalf = scenario.actions.subList(0, 400);
        List<UserAction> secondHalf = scenario.actions.subList(400, scenario.actions.size());

        try (KafkaTestIO kafka = new KafkaTestIO(CLUSTER.bootstrapServers())) {
            JobClient first = JobSetup.submit(new FeatureJob(), CLUSTER.environment(), config);
            CLUSTER.awaitJobRunning(first.getJobID(), Duration.ofMinutes(1));
            scenario.produceItems(kafka, prefix);
            FeatureScenario.awaitItemsIngested(kafka, prefix);
            FeatureScenario.produceActions(kafka, prefix, firstHalf);
            // Some of the first half are read, some not yet; actions on the late item are held in state.
            kafka.consume(dev.streamrec.schemas.Topic.USER_FEATURES.name(prefix), UserFeatures.class, 10, Duration.ofMinutes(1));
            String savepoint = first.stopWithSavepoint(false, CLUSTER.savepointDir().toUri().toString(),
                    SavepointFormatType.CANONICAL).get();
            assertThat(savepoint).isNotBlank();

            FeatureScenario.produceActions(kafka, prefix, secondHalf);
            Configuration restore = new Configuration();
            restore.setString("execution.state-recovery.path", savepoint);
            JobClient second = JobSetup.submit(new FeatureJob(), CLUSTER.environment(restore), config);
            CLUSTER.awaitJobRunning(second.getJobID(), Duration.ofMinutes(1));
            scenario.produceLateItem(kafka, prefix);

            Map<String, UserFeatures> fromTopic = FeatureScenario.readFinalFeatures(kafka, prefix, scenario.actionsPerUser());
            Map<String, ReferenceFeatures> expected = scenario.expected(FeatureParams.from(config));
            assertThat(fromTopic.keySet()).isEqualTo(expected.keySet());
            expected.forEach((user, reference) -> reference.assertMatches(fromTopic.get(user)));
            second.cancel().get();
        }
    }
}
