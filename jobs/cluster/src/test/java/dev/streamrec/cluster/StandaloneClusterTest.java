package dev.streamrec.cluster;

import static dev.streamrec.cluster.ClusterRun.PREFIX;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

import dev.streamrec.avro.ItemEmbedding;
import dev.streamrec.avro.ModelPhase;
import dev.streamrec.client.QueryTarget;
import dev.streamrec.local.demo.DemoDataGenerator;
import dev.streamrec.schemas.Topic;
import dev.streamrec.testkit.KafkaTestIO;

/**
 * The pipeline on a real standalone cluster started by {@code bin/cluster} (a JobManager and two TaskManager
 * processes, from jobs/flink-dist, configured by flink-conf/config.yaml) and operated through {@link Operator} (what
 * {@code bin/streamrec} runs) under the steady input of {@link SteadyFeed}: submission of all four jobs, the
 * transactional-id guard, the Prometheus reporter, an upgrade of every job to a build with a state field added and a
 * rollback, three TaskManager SIGKILLs, index-job rescaled 2 to 4 to 1, a model version rollover, the dashboard's
 * metrics, and {@code bin/cluster stop}. After each drill the independent {@link PipelineChecker} reads the outputs
 * read_committed: nothing lost, nothing duplicated. Every wait is bounded by {@link #WAIT} and says what it waited for.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class StandaloneClusterTest {
    private static final Duration WAIT = Duration.ofMinutes(5);
    private static ClusterRun run;
    private static Map<String, String> jobs;

    @BeforeAll
    static void startCluster() throws Exception {
        run = ClusterRun.start(WAIT);
    }

    @AfterAll
    static void stopCluster() throws Exception {
        if (run != null) {
            run.close(); // fails if a process outlives bin/cluster stop
        }
    }

    @Test
    @Order(1)
    void clusterHasItsProcessesAndTaskManagers() {
        StandaloneCluster cluster = new StandaloneCluster(run.config);
        assertThat(cluster.running().keySet()).contains("kafka", "jobmanager", "taskmanager-1", "taskmanager-2");
        assertThat(cluster.registeredTaskManagers()).isEqualTo(2);
    }

    @Test
    @Order(2)
    void submitsThePipelineAndRefusesATransactionalIdCollision() throws Exception {
        jobs = run.submit();
        assertThat(jobs.keySet()).containsExactlyElementsOf(Operator.PIPELINE);
        for (String id : jobs.values()) {
            assertThat(run.operator.api().allTasksRunning(id)).isTrue();
        }
        Path jar = Operator.defaultJar(run.root, "dedup-job");
        assertThatThrownBy(() -> run.operator.start("dedup-job", jar, run.operator.jobArgs(PREFIX, List.of()), 1, null, false))
                .hasMessageContaining("collide").hasMessageContaining(jobs.get("dedup-job"));
        assertThat(run.operator.api().active("dedup-job").map(FlinkJobsApi.Job::id)).contains(jobs.get("dedup-job"));
        run.startFeed(); // steady input from here on: the drills below run under it
    }

    @Test
    @Order(3)
    void prometheusServesEveryJobsOwnMetrics() throws Exception {
        Set<String> jobsSeen = new TreeSet<>();
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (jobsSeen.size() < Operator.PIPELINE.size() && System.nanoTime() < deadline) {
            for (int tm = 1; tm <= 2; tm++) {
                Matcher m = Pattern.compile("flink_taskmanager_job_task_operator_streamrec_\\w+\\{[^}]*job_name=\"([^\"]+)\"")
                        .matcher(run.scrape(tm));
                while (m.find()) {
                    jobsSeen.add(m.group(1));
                }
            }
            Thread.sleep(1000);
        }
        // The reporter writes label values with "_" for "-".
        assertThat(jobsSeen).as("jobs with streamrec metrics on the TaskManagers' Prometheus endpoints")
                .containsAll(Operator.PIPELINE.stream().map(j -> j.replace('-', '_')).toList());
    }

    @Test
    @Order(4)
    void everyJobIsUpgradedToABuildWithAStateFieldAddedAndRolledBack() throws Exception {
        Map<String, String> keys = run.servingKeys();
        for (String job : Operator.PIPELINE) {
            Path next = run.nextBuild(job);
            ClusterDrills.Restart upgrade = run.drills.upgrade(job, next, keys.get(job));
            assertThat(run.operator.history(job).lastStart().orElseThrow().jar()).isEqualTo(next.toString());
            ClusterDrills.Restart rollback = run.drills.rollback(job, keys.get(job));
            System.out.printf("%s: upgrade restart to serving %.2f s, rollback %.2f s%n", job, upgrade.seconds(), rollback.seconds());
            assertThat(upgrade.savepoint()).as("the upgraded %s started from a savepoint", job).isNotNull();
            assertThat(rollback.savepoint()).as("the rolled back %s started from a savepoint", job).isNotNull();
            assertThat(run.operator.history(job).lastStart().orElseThrow().jar()).isNotEqualTo(next.toString());
        }
        assertClean(run.check());
    }

    @Test
    @Order(5)
    void jobsRecoverFromThreeTaskManagerKillsWithNothingLostOrDuplicated() throws Exception {
        Map<String, String> keys = run.servingKeys();
        for (int victim : new int[] {2, 1, 2}) {
            ClusterDrills.Recovery recovery = run.drills.killTaskManager(victim, keys);
            System.out.printf("SIGKILL %s: %s running and answering again after %.2f s%n", recovery.taskManager(),
                    recovery.restartedJobs(), recovery.seconds());
            assertThat(recovery.restartedJobs()).as("jobs with tasks on %s", recovery.taskManager()).isNotEmpty();
        }
        assertThat(new StandaloneCluster(run.config).registeredTaskManagers()).isEqualTo(2);
        assertClean(run.check());
    }

    @Test
    @Order(6)
    void recallOfFixedUsersIsIdenticalAcrossRescales() throws Exception {
        run.feed.pause(); // nothing changes the users' features or the index meanwhile
        try {
            assertClean(run.check());
            List<String> users = run.usersWithRecall(5);
            Map<String, List<String>> before = run.recomputedRecall(users);
            for (int parallelism : new int[] {4, 1}) {
                ClusterDrills.Restart rescale = run.drills.rescale("index-job", parallelism, users.get(0));
                System.out.printf("index-job rescaled to %d in %.2f s%n", parallelism, rescale.seconds());
                assertThat(run.operator.api().get("/jobs/" + rescale.jobId()).path("vertices").findValues("parallelism"))
                        .as("index-job's operators at parallelism %d", parallelism)
                        .anySatisfy(p -> assertThat(p.asInt()).isEqualTo(parallelism));
                assertThat(run.recomputedRecall(users)).as("recall recomputed at parallelism %d", parallelism).isEqualTo(before);
            }
        } finally {
            run.feed.resume();
        }
    }

    @Test
    @Order(7)
    void aModelVersionRollsOverWithoutAnEmptyRecallAndRetiringDropsItsState() throws Exception {
        List<String> users = run.usersWithRecall(5);
        DemoDataGenerator.Config v2 = ClusterRun.FEED.toBuilder().modelVersion("v2").seed(7).wallClock(true).build();
        long items = ClusterRun.FEED.items();
        try (RecallSampler sampler = new RecallSampler(run.drills, users)) {
            run.operator.publishModelPhase(PREFIX, "v2", ModelPhase.LOADING, items, v2.dimension());
            try (KafkaProducer<String, byte[]> p = KafkaTestIO.producer(run.config.bootstrapServers())) {
                for (ItemEmbedding e : new DemoDataGenerator(v2).items()) {
                    p.send(new ProducerRecord<>(Topic.ITEM_EMBEDDINGS.name(PREFIX), e.getItemId(), KafkaTestIO.encode(e)));
                }
            }
            // Published once index-job holds all of v2's items (the operator's check), refused otherwise.
            run.operator.publishModelPhase(PREFIX, "v2", ModelPhase.SERVING, items, v2.dimension());
            for (String user : users) {
                assertThat(run.drills.lookup(QueryTarget.recall(), user, r -> r.getModelVersion().equals("v2")))
                        .as("recall of %s on v2 (its next action gives it a v2 vector)", user).isNotNull();
            }
            // The state's size without the feed's growth: paused around the two savepoints (the sampler goes on).
            run.feed.pause();
            long before = run.savepointBytes("index-job");
            assertThat(run.versionItems("v1")).as("v1 items before RETIRED").isEqualTo(items);
            run.operator.publishModelPhase(PREFIX, "v1", ModelPhase.RETIRED, null, null);
            long deadline = System.nanoTime() + WAIT.toNanos();
            while (run.versionItems("v1") > 0) {
                assertThat(System.nanoTime()).as("index-job to drop v1's items after RETIRED").isLessThan(deadline);
                Thread.sleep(500);
            }
            long after = run.savepointBytes("index-job");
            run.feed.resume();
            System.out.printf("index-job savepoint %,d B with v1 and v2, %,d B after v1 RETIRED (%.0f%%)%n",
                    before, after, 100.0 * after / before);
            assertThat(after).as("index-job's savepoint bytes after v1 RETIRED (before: %d)", before).isLessThan(before * 9 / 10);
            sampler.stop();
            assertThat(sampler.empty).as("lookups that found no recall or an empty one, of %d", sampler.lookups.get()).isEmpty();
            assertThat(sampler.versions).as("model versions recall was served from").containsExactlyInAnyOrder("v1", "v2");
            assertThat(sampler.lookups.get()).as("recall lookups during the rollover").isGreaterThan(50);
        }
    }

    @Test
    @Order(8)
    void theCheckerFindsEveryInputAccountedForAtTheEnd() throws Exception {
        run.feed.pause();
        PipelineChecker.Report report = run.check();
        System.out.println("checker: " + PipelineChecker.counts(report));
        assertThat(report.actions()).as("actions fed").isPositive();
        assertThat(report.impressionsDue()).as("impressions whose window closed").isPositive();
        assertClean(report);
    }

    @Test
    @Order(9)
    void theDashboardShowsOnlyMetricsTheClusterServes() throws Exception {
        String dashboard = Files.readString(run.root.resolve("flink-conf/grafana/streamrec-pipeline.json"));
        Set<String> named = new TreeSet<>();
        Matcher m = Pattern.compile("flink_\\w+").matcher(dashboard);
        while (m.find()) {
            named.add(m.group());
        }
        StringBuilder served = new StringBuilder();
        for (int process = 0; process <= 2; process++) {
            served.append(run.scrape(process));
        }
        Set<String> missing = new TreeSet<>();
        for (String metric : named) {
            if (!Pattern.compile("(?m)^" + metric + "[{ ]").matcher(served).find()) {
                missing.add(metric);
            }
        }
        assertThat(named).as("metrics the dashboard queries").hasSizeGreaterThan(10);
        assertThat(missing).as("dashboard metrics no Prometheus endpoint of the cluster serves").isEmpty();
    }

    private static void assertClean(PipelineChecker.Report report) {
        assertThat(report.problems()).as("what the checker found (%s)", PipelineChecker.counts(report)).isEmpty();
        assertThat(report.lost()).isZero();
        assertThat(report.duplicated()).isZero();
        assertThat(report.deadLetters()).isZero();
    }
}
