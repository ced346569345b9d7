package dev.streamrec.client;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import org.apache.flink.api.common.JobID;
import org.apache.flink.core.execution.JobClient;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import dev.streamrec.avro.Candidate;
import dev.streamrec.avro.RecallResult;
import dev.streamrec.jobs.JobSetup;
import dev.streamrec.jobs.config.JobConfig;
import dev.streamrec.schemas.Topic;
import dev.streamrec.testkit.KafkaTestIO;
import dev.streamrec.testkit.LocalFlinkCluster;
import dev.streamrec.testkit.PipelineTestCluster;

/**
 * RecallClient and the query command against a real broker and MiniCluster: a stand-in index-job
 * ({@link RecallStoreJob}) publishes the queryable state {@code recall} from RecallResult records produced to Kafka;
 * the client finds it through REST, reads what was produced, and keeps answering after the job is cancelled and
 * submitted again under a new JobID.
 */
class RecallClientIntegrationTest {
    @RegisterExtension
    static final PipelineTestCluster CLUSTER = new PipelineTestCluster();

    private static final Duration DEADLINE = Duration.ofSeconds(90);
    private static final int USERS = 12;

    /** The latest record produced per user: what the state must hold. */
    private static final Map<String, RecallResult> EXPECTED = new LinkedHashMap<>();
    private static RecallClient client;
    private static volatile JobClient job;

    @BeforeAll
    static void startIndexJob() throws Exception {
        CLUSTER.createPipelineTopics(2);
        String topic = Topic.RECALL.name(CLUSTER.topicPrefix());
        try (KafkaTestIO kafka = new KafkaTestIO(CLUSTER.bootstrapServers())) {
            long t0 = 1_700_000_000_000L;
            for (int round = 0; round < 2; round++) {
                for (int u = 0; u < USERS; u++) {
                    if (round == 1 && u % 3 != 0) {
                        continue; // a third of the users get a second, newer result that replaces the first
                    }
                    RecallResult r = result("user-" + u, "v" + (round + 1), u + 1, t0 + 1000L * round + u);
                    kafka.produceAsync(topic, r.getUserId(), r, r.getComputedAt());
                    EXPECTED.put(r.getUserId(), r);
                }
            }
            kafka.flush();
        }
        client = RecallClient.builder().rest(restUrl()).proxy(LocalFlinkCluster.HOST, CLUSTER.queryableStateProxyPort())
                .timeout(DEADLINE).build();
        job = submitIndexJob();
    }

    @AfterAll
    static void closeClient() {
        if (client != null) {
            client.close();
        }
    }

    @Test
    void readsWhatWasProducedFromTheRunningJob() throws Exception {
        awaitAllUsers();
        for (Map.Entry<String, RecallResult> e : EXPECTED.entrySet()) {
            Lookup<RecallResult> r = client.recall(e.getKey());
            assertThat(r.outcome()).as(r.describe()).isEqualTo(Lookup.Outcome.FOUND);
            assertThat(r.value()).isEqualTo(e.getValue());
            assertThat(r.jobId()).isEqualTo(job.getJobID());
            assertThat(r.problem()).isNull();
        }
        Lookup<RecallResult> unknown = client.recall("nobody");
        assertThat(unknown.outcome()).as(unknown.describe()).isEqualTo(Lookup.Outcome.NO_VALUE);
        assertThat(unknown.value()).isNull();
        assertThat(unknown.jobId()).isEqualTo(job.getJobID());
        assertThat(client.cachedJobId(QueryTarget.INDEX_JOB)).contains(job.getJobID());

        // One client, many threads (as the benchmark reads it).
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try {
            List<Future<List<Lookup<RecallResult>>>> futures = new ArrayList<>();
            for (int t = 0; t < 8; t++) {
                futures.add(pool.submit(() -> {
                    List<Lookup<RecallResult>> got = new ArrayList<>();
                    for (int round = 0; round < 5; round++) {
                        EXPECTED.keySet().forEach(user -> got.add(client.recall(user)));
                    }
                    return got;
                }));
            }
            for (Future<List<Lookup<RecallResult>>> f : futures) {
                assertThat(f.get(2, TimeUnit.MINUTES)).hasSize(5 * USERS)
                        .allSatisfy(r -> assertThat(r.value()).as(r.describe()).isEqualTo(EXPECTED.get(r.key())));
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void keepsAnsweringWhenTheJobIsCancelledAndSubmittedAgain() throws Exception {
        awaitAllUsers();
        String user = "user-3";
        JobID first = job.getJobID();
        assertThat(client.recall(user).jobId()).isEqualTo(first);

        job.cancel().get(1, TimeUnit.MINUTES);
        CLUSTER.miniCluster().requestJobResult(first).get(1, TimeUnit.MINUTES);

        // No index-job at all: a lookup says so once its deadline passes (long enough for a REST answer on a busy machine).
        Lookup<RecallResult> none = client.recall(user, Duration.ofSeconds(10));
        assertThat(none.outcome()).isEqualTo(Lookup.Outcome.DEADLINE_PASSED);
        assertThat(none.value()).isNull();
        assertThat(none.problem()).contains("no RUNNING job named 'index-job'");

        // A lookup already waiting when the job comes back is answered by the new job.
        CompletableFuture<Lookup<RecallResult>> waiting = CompletableFuture.supplyAsync(
                () -> client.lookupUntil(client.recallTarget(), user, DEADLINE, r -> r.equals(EXPECTED.get(user))));
        job = submitIndexJob();
        JobID second = job.getJobID();
        assertThat(second).isNotEqualTo(first);

        Lookup<RecallResult> answered = waiting.get(2, TimeUnit.MINUTES);
        assertThat(answered.outcome()).as(answered.describe()).isEqualTo(Lookup.Outcome.FOUND);
        assertThat(answered.value()).isEqualTo(EXPECTED.get(user));
        assertThat(answered.jobId()).isEqualTo(second);

        awaitAllUsers();
        for (Map.Entry<String, RecallResult> e : EXPECTED.entrySet()) {
            Lookup<RecallResult> r = client.recall(e.getKey());
            assertThat(r.value()).as(r.describe()).isEqualTo(e.getValue());
            assertThat(r.jobId()).isEqualTo(second);
        }
    }

    @Test
    void queryCommandPrintsARecall() throws Exception {
        awaitAllUsers();
        String proxy = LocalFlinkCluster.HOST + ":" + CLUSTER.queryableStateProxyPort();
        QueryCliTest.Run run = QueryCliTest.run("recall", "--user", "user-6", "--rest", restUrl(), "--proxy", proxy, "--timeout-ms", "90000");
        assertThat(run.status()).as(run.err()).isEqualTo(QueryCli.FOUND);
        RecallResult expected = EXPECTED.get("user-6");
        assertThat(expected.getModelVersion()).isEqualTo("v2");
        assertThat(run.out()).contains("user user-6: recall of job index-job (")
                .contains("model version:   v2")
                .contains("computedAt:      " + java.time.Instant.ofEpochMilli(expected.getComputedAt()))
                .contains("sourceEventTime: " + java.time.Instant.ofEpochMilli(expected.getSourceEventTime()))
                .contains("candidates:      " + expected.getCandidates().size());
        List<String> candidateLines = run.out().lines().filter(l -> l.matches("\\s*\\d+\\s+\\S+\\s+[0-9.]+\\s+\\S+")).toList();
        assertThat(candidateLines).hasSize(expected.getCandidates().size());
        for (int i = 0; i < candidateLines.size(); i++) {
            Candidate c = expected.getCandidates().get(i);
            assertThat(candidateLines.get(i).split("\\s+", -1)).containsSubsequence(String.valueOf(i + 1), c.getItemId(),
                    String.format(java.util.Locale.ROOT, "%.6f", c.getScore()), c.getChannel());
        }

        QueryCliTest.Run limited = QueryCliTest.run("recall", "--user", "user-6", "--rest", restUrl(), "--proxy", proxy, "--limit", "2");
        assertThat(limited.out()).contains("(first 2 shown)");

        QueryCliTest.Run nobody = QueryCliTest.run("recall", "--user", "nobody", "--rest", restUrl(), "--proxy", proxy);
        assertThat(nobody.status()).isEqualTo(QueryCli.NO_VALUE);
        assertThat(nobody.out()).isEmpty();
        assertThat(nobody.err()).contains("nobody has no recall (yet)");

        // No feature-job runs on this cluster.
        QueryCliTest.Run features = QueryCliTest.run("features", "--user", "user-6", "--rest", restUrl(), "--proxy", proxy, "--timeout-ms", "300");
        assertThat(features.status()).isEqualTo(QueryCli.NO_ANSWER);
        assertThat(features.err()).contains("no RUNNING job named 'feature-job'");
    }

    // ------------------------------------------------------------------ helpers

    private static JobClient submitIndexJob() throws Exception {
        RecallStoreJob indexJob = new RecallStoreJob();
        JobConfig config = indexJob.parseConfig("--bootstrap.servers", CLUSTER.bootstrapServers(),
                "--topic.prefix", CLUSTER.topicPrefix(), "--parallelism", "2", "--source.starting-offsets", "earliest");
        JobClient submitted = JobSetup.submit(indexJob, CLUSTER.environment(), config);
        CLUSTER.awaitJobRunning(submitted.getJobID(), DEADLINE);
        return submitted;
    }

    /** Waits until every user's state holds the latest record produced for them. */
    private static void awaitAllUsers() {
        for (Map.Entry<String, RecallResult> e : EXPECTED.entrySet()) {
            Lookup<RecallResult> r = client.lookupUntil(client.recallTarget(), e.getKey(), DEADLINE,
                    v -> v.equals(e.getValue()));
            assertThat(r.outcome()).as(r.describe()).isEqualTo(Lookup.Outcome.FOUND);
        }
    }

    private static String restUrl() {
        return "http://" + LocalFlinkCluster.HOST + ":" + CLUSTER.restPort();
    }

    /** n candidates alternating u2i / i2i, scores falling from 0.9. */
    static RecallResult result(String user, String version, int n, long computedAt) {
        List<Candidate> candidates = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            candidates.add(Candidate.newBuilder().setItemId("item-" + (i * 7 + n)).setScore(0.9 - i * 0.0125)
                    .setChannel(i % 2 == 0 ? "u2i" : "i2i").build());
        }
        return RecallResult.newBuilder().setUserId(user).setModelVersion(version).setCandidates(candidates)
                .setComputedAt(computedAt).setSourceEventTime(computedAt - 250).build();
    }
}
