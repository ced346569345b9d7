package dev.streamrec.joiner;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;
import java.util.Map;

import org.apache.flink.api.common.JobID;
import org.apache.flink.api.common.JobStatus;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.StateRecoveryOptions;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.core.execution.SavepointFormatType;
import org.apache.flink.runtime.executiongraph.AccessExecutionVertex;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import dev.streamrec.avro.Impression;
import dev.streamrec.avro.TrainingExample;
import dev.streamrec.avro.UserAction;
import dev.streamrec.jobs.JobSetup;
import dev.streamrec.jobs.config.JobConfig;
import dev.streamrec.schemas.Topic;
import dev.streamrec.testkit.KafkaTestIO;
import dev.streamrec.testkit.PipelineTestCluster;
import dev.streamrec.testkit.TopicAdmin;

/**
 * joiner-job end to end on a real Kafka broker and a MiniCluster with RocksDB: the examples read read_committed from
 * {@code training-examples} equal the offline join of the generated input ({@link JoinScenario#reference()}),
 * example for example: without failures, with the TaskManager killed twice mid-stream, and across a stop with
 * savepoint mid-window.
 */
class JoinerJobIntegrationTest {
    @RegisterExtension
    static final PipelineTestCluster CLUSTER = new PipelineTestCluster();
    /** Generous for a slow, busy machine: how long the examples of a run may take to be committed. */
    static final Duration OUTPUT_WAIT = Duration.ofMinutes(10);
    static final long START = System.currentTimeMillis() - 2 * 24 * 3_600_000L;

    static KafkaTestIO kafka;
    JobClient job;

    @BeforeAll
    static void connect() {
        kafka = new KafkaTestIO(CLUSTER.bootstrapServers());
    }

    @AfterEach
    void cancel() throws Exception {
        CLUSTER.cancelAllJobs();
    }

    static String topics(String run) {
        String prefix = CLUSTER.topicPrefix() + run + "-";
        TopicAdmin.createPipelineTopics(CLUSTER.bootstrapServers(), prefix, 2);
        return prefix;
    }

    static JobConfig config(String prefix) {
        // Parallelism = partitions: each watermark generator sees one partition in order (disorder below the bound),
        // and no input goes idle while the test thinks, so nothing is late to the watermark and the output is fixed.
        return new JoinerJob().parseConfig("--bootstrap.servers", CLUSTER.bootstrapServers(), "--topic.prefix", prefix,
                "--parallelism", "2", "--checkpoint.interval.ms", "500", "--source.starting-offsets", "earliest",
                "--watermark.idleness.ms", "3600000");
    }

    static void produce(String prefix, List<Impression> impressions, List<UserAction> actions) {
        kafka.produceAll(Topic.IMPRESSIONS.name(prefix), impressions, Impression::getUserId);
        kafka.produceAll(Topic.USER_ACTIONS.name(prefix), actions, UserAction::getUserId);
    }

    static void produceClock(String prefix, JoinScenario scenario) {
        produce(prefix, scenario.clockImpressions(), scenario.clockActions());
    }

    /** Waits until {@code count} examples are committed, then reads the topic to its end. */
    static List<TrainingExample> awaitExamples(String prefix, int count, String what) {
        String topic = Topic.TRAINING_EXAMPLES.name(prefix);
        List<KafkaTestIO.Received<TrainingExample>> read = KafkaTestIO.consumeUntil(CLUSTER.bootstrapServers(), topic,
                TrainingExample.class, OUTPUT_WAIT, r -> r.size() >= count);
        assertThat(read).as("%s: %d examples committed to %s within %s", what, count, topic, OUTPUT_WAIT).hasSizeGreaterThanOrEqualTo(count);
        return KafkaTestIO.readToEnd(CLUSTER.bootstrapServers(), topic, TrainingExample.class, Duration.ofMinutes(2));
    }

    static int committedCount(String prefix) {
        return KafkaTestIO.readToEnd(CLUSTER.bootstrapServers(), Topic.TRAINING_EXAMPLES.name(prefix), TrainingExample.class,
                Duration.ofMinutes(2)).size();
    }

    static void assertEqualsReference(List<TrainingExample> emitted, JoinScenario scenario) {
        Map<String, TrainingExample> expected = scenario.reference();
        Map<String, TrainingExample> actual = JoinScenario.byExampleId(emitted);
        assertThat(actual.keySet()).as("example ids").containsExactlyInAnyOrderElementsOf(expected.keySet());
        for (Map.Entry<String, TrainingExample> e : expected.entrySet()) {
            assertThat(actual.get(e.getKey())).as("example %s", e.getKey()).isEqualTo(e.getValue());
        }
        assertThat(emitted).hasSameSizeAs(expected.values());
    }

    @Test
    void theExamplesOf100000ImpressionsEqualTheOfflineJoin() throws Exception {
        String prefix = topics("reference");
        JoinScenario scenario = new JoinScenario(100_000, START, 1);
        Map<String, TrainingExample> expected = scenario.reference();
        // The reference exercises every rule, else its equality says little.
        assertThat(expected.values()).anyMatch(TrainingExample::getLate).anyMatch(e -> e.getLabel() == 0)
                .anyMatch(e -> e.getLabels().size() > 1).anyMatch(e -> e.getLate() && e.getReplacesNegative());
        produce(prefix, scenario.impressions, scenario.actions);
        produceClock(prefix, scenario);
        job = JobSetup.submit(new JoinerJob(), CLUSTER.environment(), config(prefix));
        CLUSTER.awaitJobRunning(job.getJobID(), Duration.ofMinutes(2));

        List<TrainingExample> emitted = awaitExamples(prefix, expected.size(), "100,000 impressions joined");
        assertEqualsReference(emitted, scenario);
    }

    @Test
    void killingTheTaskManagerTwiceMidStreamLosesAndDuplicatesNothing() throws Exception {
        String prefix = topics("failover");
        JoinScenario scenario = new JoinScenario(45_000, START, 2);
        List<Impression> impressions = scenario.impressions;
        List<UserAction> actions = scenario.actions;
        int thirdI = impressions.size() / 3;
        int thirdA = actions.size() / 3;
        job = JobSetup.submit(new JoinerJob(), CLUSTER.environment(), config(prefix));
        JobID id = job.getJobID();
        CLUSTER.awaitJobRunning(id, Duration.ofMinutes(2));

        int taskManager = 0;
        produce(prefix, impressions.subList(0, thirdI), actions.subList(0, thirdA));
        awaitExamples(prefix, 1, "the first examples before the first failure");
        CLUSTER.miniCluster().terminateTaskManager(taskManager++).get();
        CLUSTER.miniCluster().startTaskManager();
        produce(prefix, impressions.subList(thirdI, 2 * thirdI), actions.subList(thirdA, 2 * thirdA));
        CLUSTER.awaitJobRunning(id, Duration.ofMinutes(2));
        int before = committedCount(prefix);
        awaitExamples(prefix, before + 1, "more examples after the first restart");
        CLUSTER.miniCluster().terminateTaskManager(taskManager).get();
        CLUSTER.miniCluster().startTaskManager();
        produce(prefix, impressions.subList(2 * thirdI, impressions.size()), actions.subList(2 * thirdA, actions.size()));
        produceClock(prefix, scenario);
        CLUSTER.awaitJobRunning(id, Duration.ofMinutes(2));

        List<TrainingExample> emitted = awaitExamples(prefix, scenario.reference().size(), "all examples after two failures");
        assertThat(CLUSTER.miniCluster().getJobStatus(id).get()).isEqualTo(JobStatus.RUNNING);
        assertThat(restarts(id)).as("restarts of every task from a checkpoint").isGreaterThanOrEqualTo(2);
        assertEqualsReference(emitted, scenario);
    }

    @Test
    void aStopWithSavepointMidWindowChangesNoExample() throws Exception {
        String prefix = topics("savepoint");
        JoinScenario scenario = new JoinScenario(30_000, START, 3);
        int halfI = scenario.impressions.size() / 2;
        int halfA = scenario.actions.size() / 2;
        produce(prefix, scenario.impressions.subList(0, halfI), scenario.actions.subList(0, halfA));
        JobClient first = JobSetup.submit(new JoinerJob(), CLUSTER.environment(), config(prefix));
        CLUSTER.awaitJobRunning(first.getJobID(), Duration.ofMinutes(2));
        awaitExamples(prefix, 1, "the first examples before the savepoint");
        String savepoint = first.stopWithSavepoint(false, CLUSTER.savepointDir().toUri().toString(),
                SavepointFormatType.CANONICAL).get();

        produce(prefix, scenario.impressions.subList(halfI, scenario.impressions.size()),
                scenario.actions.subList(halfA, scenario.actions.size()));
        produceClock(prefix, scenario);
        Configuration restore = new Configuration();
        restore.set(StateRecoveryOptions.SAVEPOINT_PATH, savepoint);
        job = JobSetup.submit(new JoinerJob(), CLUSTER.environment(restore), config(prefix));
        CLUSTER.awaitJobRunning(job.getJobID(), Duration.ofMinutes(2));

        List<TrainingExample> emitted = awaitExamples(prefix, scenario.reference().size(), "all examples after the savepoint");
        assertEqualsReference(emitted, scenario);
    }

    /** How often every task of the job was restarted: the lowest execution attempt number over its subtasks. */
    static long restarts(JobID id) throws Exception {
        long lowest = Long.MAX_VALUE;
        for (AccessExecutionVertex vertex : CLUSTER.miniCluster().getExecutionGraph(id).get().getAllExecutionVertices()) {
            lowest = Math.min(lowest, vertex.getCurrentExecutionAttempt().getAttemptNumber());
        }
        return lowest;
    }
}
