package dev.streamrec.feature;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.apache.flink.api.common.JobID;
import org.apache.flink.core.execution.JobClient;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import dev.streamrec.avro.UserFeatures;
import dev.streamrec.client.FlinkRestClient;
import dev.streamrec.jobs.JobSetup;
import dev.streamrec.jobs.config.JobConfig;
import dev.streamrec.testkit.KafkaTestIO;
import dev.streamrec.testkit.PipelineTestCluster;

/**
 * feature-job against a secured Kafka: the broker's only client listener is SASL_PLAINTEXT (PLAIN), and the job logs
 * in through --kafka.properties.* options alone (no code knows of SASL). With the right password its output equals
 * the reference; with a wrong one the job fails at once and the authentication error is what Flink reports for it.
 */
class FeatureJobSaslTest {
    static final String USER = "recsys";
    static final String PASSWORD = "s3cret-pw";

    @RegisterExtension
    static final PipelineTestCluster CLUSTER = PipelineTestCluster.withSaslPlain(USER, PASSWORD);

    static KafkaTestIO kafka;

    static JobConfig config(String password) {
        List<String> args = new ArrayList<>(List.of("--bootstrap.servers", CLUSTER.bootstrapServers(),
                "--topic.prefix", CLUSTER.topicPrefix(), "--parallelism", "1", "--checkpoint.interval.ms", "500",
                "--features.vector-dimension", String.valueOf(FeatureScenario.DIMENSION), "--source.starting-offsets", "earliest"));
        args.addAll(CLUSTER.kafkaLoginArgs(password));
        return new FeatureJob().parseConfig(args.toArray(String[]::new));
    }

    @AfterAll
    static void close() {
        if (kafka != null) {
            kafka.close();
        }
    }

    @Test
    void withTheRightPasswordTheFeaturesEqualTheReferenceWithAWrongOneTheJobFailsWithTheAuthenticationError()
            throws Exception {
        CLUSTER.createPipelineTopics(1);
        kafka = new KafkaTestIO(CLUSTER.bootstrapServers());
        String prefix = CLUSTER.topicPrefix();
        JobConfig config = config(PASSWORD);
        JobClient job = JobSetup.submit(new FeatureJob(), CLUSTER.environment(), config);
        CLUSTER.awaitJobRunning(job.getJobID(), Duration.ofMinutes(2));

        FeatureScenario scenario = new FeatureScenario(8, 30, 200, 3);
        scenario.produceAll(kafka, prefix);
        Map<String, ReferenceFeatures> expected = scenario.expected(FeatureParams.from(config));
        Map<String, UserFeatures> fromTopic = FeatureScenario.readFinalFeatures(kafka, prefix, scenario.actionsPerUser());
        assertThat(fromTopic.keySet()).isEqualTo(expected.keySet());
        expected.forEach((user, reference) -> reference.assertMatches(fromTopic.get(user)));
        job.cancel().get();

        JobClient denied = JobSetup.submit(new FeatureJob(), CLUSTER.environment(), config("wrong-password"));
        String failure = awaitFailureMentioning(denied.getJobID(), "Authentication failed", Duration.ofMinutes(3));
        assertThat(failure).contains("SaslAuthenticationException").contains("Invalid username or password");
        denied.cancel().get();
    }

    /**
     * Polls the job's exception history in Flink's REST API (what the web UI and {@code flink} CLI show a user) until
     * its latest failure mentions {@code text}; returns that failure's stack trace.
     */
    private static String awaitFailureMentioning(JobID job, String text, Duration timeout) throws Exception {
        FlinkRestClient rest = new FlinkRestClient("127.0.0.1", CLUSTER.restPort());
        long deadline = System.nanoTime() + timeout.toNanos();
        String last = "(no failure reported)";
        while (System.nanoTime() < deadline) {
            var history = rest.get("/jobs/" + job + "/exceptions").path("exceptionHistory").path("entries");
            for (var entry : history) {
                last = entry.path("stacktrace").asText();
                if (last.contains(text)) {
                    return last;
                }
            }
            Thread.sleep(200);
        }
        throw new AssertionError("job " + job + " reported no failure mentioning '" + text + "' within " + timeout
                + "; last reported: " + last);
    }
}
