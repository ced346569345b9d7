package dev.streamrec.testkit;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;

import org.apache.flink.api.common.JobID;
import org.apache.flink.api.common.JobStatus;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.MemorySize;
import org.apache.flink.queryablestate.client.QueryableStateClient;
import org.apache.flink.runtime.client.JobStatusMessage;
import org.apache.flink.runtime.execution.ExecutionState;
import org.apache.flink.runtime.executiongraph.AccessExecutionGraph;
import org.apache.flink.runtime.executiongraph.AccessExecutionVertex;
import org.apache.flink.runtime.minicluster.MiniCluster;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;


import dev.streamrec.jobs.config.JobConfig;

/**
 * JUnit 5 extension: one real Kafka broker ({@link EmbeddedKafkaBroker}) and one Flink {@link MiniCluster} per test class.
 *
 * <pre>{@code
 * @RegisterExtension
 * static final PipelineTestCluster CLUSTER = new PipelineTestCluster();
 * }</pre>
 *
 * <p>The MiniCluster has one TaskManager with 8 slots, the RocksDB state backend, checkpoint and savepoint directories
 * in a temporary folder, queryable state (proxy and server on free ports), REST on a free port and
 * {@code pipeline.generic-types: false}. Jobs are submitted through {@link #environment()}, a remote environment
 * pointing at the MiniCluster's REST endpoint; the job classes come from the test class path, so no jars are shipped.
 * Topic names are unique per test class through {@link #topicPrefix()}.
 */
public class PipelineTestCluster implements BeforeAllCallback, AfterAllCallback {
    private static final String HOST = "127.0.0.1";

    private final int slots;
    private final String topicPrefix;
    private String saslUser;
    private String saslPassword;

    private EmbeddedKafkaBroker broker;
    private MiniCluster miniCluster;
    private Configuration configuration;
    private QueryableStateClient queryableStateClient;
    private Path tempDir;
    private Path checkpointDir;
    private Path savepointDir;
    private int restPort;
    private int proxyPort;
    private int stateServerPort;
    private String owner;

    public PipelineTestCluster() {
        this(8);
    }

    public PipelineTestCluster(int slots) {
        this.slots = slots;
        this.topicPrefix = "t" + UUID.randomUUID().toString().replace("-", "").substring(0, 10) + "-";
    }

    /**
     * A cluster whose broker accepts only SASL_PLAINTEXT clients (PLAIN mechanism) logging in as {@code user}; the test
     * kit's clients log in by themselves ({@link KafkaLogins}), jobs through {@link #kafkaLoginArgs(String)}.
     */
    public static PipelineTestCluster withSaslPlain(String user, String password) {
        PipelineTestCluster cluster = new PipelineTestCluster();
        cluster.saslUser = user;
        cluster.saslPassword = password;
        return cluster;
    }

    /** The job options that log in to this cluster's SASL broker as its user with {@code password}. */
    public List<String> kafkaLoginArgs(String password) {
        List<String> args = new ArrayList<>();
        EmbeddedKafkaBroker.saslPlainClient(saslUser, password).forEach((k, v) -> {
            args.add("--" + JobConfig.KAFKA_PROPERTY_PREFIX + k);
            args.add(v);
        });
        return args;
    }

    @Override
    public void beforeAll(ExtensionContext context) throws Exception {
        if (owner != null) {
            return; // already started by an enclosing class (@Nested)
        }
        owner = context.getUniqueId();
        try {
            start();
        } catch (Exception | Error e) {
            stop();
            throw e;
        }
    }

    @Override
    public void afterAll(ExtensionContext context) {
        if (context.getUniqueId().equals(owner)) {
            stop();
            owner = null;
        }
    }

    private void start() throws Exception {
        tempDir = Files.createTempDirectory("pipeline-test-");
        checkpointDir = tempDir.resolve("checkpoints");
        savepointDir = tempDir.resolve("savepoints");

        // The broker boots in its own JVM while the MiniCluster starts here.
        CompletableFuture<EmbeddedKafkaBroker> brokerStart = CompletableFuture.supplyAsync(() -> saslUser == null
                ? EmbeddedKafkaBroker.start()
                : EmbeddedKafkaBroker.builder().saslPlain(saslUser, saslPassword).start());

        restPort = EmbeddedKafkaBroker.freePort();
        proxyPort = EmbeddedKafkaBroker.freePort();
        stateServerPort = EmbeddedKafkaBroker.freePort(); // freePort never repeats a port within this JVM

        Configuration conf = LocalFlinkCluster.configuration(tempDir, slots, restPort, proxyPort, stateServerPort,
                MemorySize.parse("256m"));
        this.configuration = conf;

        try {
            miniCluster = LocalFlinkCluster.start(conf);
            restPort = LocalFlinkCluster.restPort(miniCluster);
        } finally {
            try {
                broker = brokerStart.join();
            } catch (CompletionException e) {
                throw e.getCause() instanceof RuntimeException re ? re : e;
            }
        }

        queryableStateClient = new QueryableStateClient(HOST, proxyPort);
    }

    private void stop() {
        List<Throwable> errors = new ArrayList<>();
        if (miniCluster != null) {
            try {
                cancelAllJobs();
            } catch (Throwable t) {
                errors.add(t);
            }
        }
        if (queryableStateClient != null) {
            try {
                queryableStateClient.shutdownAndWait();
            } catch (Throwable t) {
                errors.add(t);
            }
            queryableStateClient = null;
        }
        if (miniCluster != null) {
            try {
                miniCluster.closeAsync().get(60, TimeUnit.SECONDS);
            } catch (Throwable t) {
                errors.add(t);
            }
            miniCluster = null;
        }
        if (broker != null) {
            try {
                broker.close();
            } catch (Throwable t) {
                errors.add(t);
            }
            broker = null;
        }
        TempDirs.deleteRecursively(tempDir);
        tempDir = null;
        if (!errors.isEmpty()) {
            IllegalStateException e = new IllegalStateException("errors while stopping the test cluster");
            errors.forEach(e::addSuppressed);
            throw e;
        }
    }

    // ------------------------------------------------------------------ Kafka

    public String bootstrapServers() {
        return broker().bootstrapServers();
    }

    public EmbeddedKafkaBroker broker() {
        if (broker == null) {
            throw new IllegalStateException("the test cluster is not running (register it with @RegisterExtension on a static field)");
        }
        return broker;
    }

    /** Unique per test class (and per extension instance), e.g. {@code "t3f9a0c21be-"}. */
    public String topicPrefix() {
        return topicPrefix;
    }

    /** Creates every pipeline topic with {@link #topicPrefix()}; idempotent. Returns the topic names. */
    public List<String> createPipelineTopics(int partitions) {
        return TopicAdmin.createPipelineTopics(bootstrapServers(), topicPrefix, partitions);
    }

    /** Creates {@code topicPrefix() + baseName}; idempotent. Returns the full name. */
    public String createTopic(String baseName, int partitions) {
        String name = topicPrefix + baseName;
        TopicAdmin.createTopic(bootstrapServers(), name, partitions);
        return name;
    }

    // ------------------------------------------------------------------ Flink

    public MiniCluster miniCluster() {
        if (miniCluster == null) {
            throw new IllegalStateException("the test cluster is not running (register it with @RegisterExtension on a static field)");
        }
        return miniCluster;
    }

    public int restPort() {
        return restPort;
    }

    public int queryableStateProxyPort() {
        return proxyPort;
    }

    /** A copy of the cluster configuration (also the job configuration {@link #environment()} uses). */
    public Configuration flinkConfiguration() {
        return new Configuration(configuration);
    }

    /** A new environment that submits to this MiniCluster (with the cluster's configuration as job defaults). */
    public StreamExecutionEnvironment environment() {
        return environment(new Configuration());
    }

    /** Like {@link #environment()}, with {@code overrides} on top of the cluster configuration. */
    public StreamExecutionEnvironment environment(Configuration overrides) {
        miniCluster();
        Configuration conf = flinkConfiguration();
        conf.addAll(overrides);
        return StreamExecutionEnvironment.createRemoteEnvironment(HOST, restPort, conf);
    }

    /** Client for the MiniCluster's queryable state proxy; closed by the extension. */
    public QueryableStateClient queryableStateClient() {
        if (queryableStateClient == null) {
            throw new IllegalStateException("the test cluster is not running");
        }
        return queryableStateClient;
    }

    public Path checkpointDir() {
        return checkpointDir;
    }

    public Path savepointDir() {
        return savepointDir;
    }

    /** The temporary folder holding checkpoints and savepoints (deleted after the test class). */
    public Path tempDir() {
        return tempDir;
    }

    /** Waits until every task of the job is RUNNING (or FINISHED), failing if the job ends or the timeout passes. */
    public void awaitJobRunning(JobID jobId, Duration timeout) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            JobStatus status = miniCluster().getJobStatus(jobId).get(10, TimeUnit.SECONDS);
            if (status.isGloballyTerminalState()) {
                throw new IllegalStateException("job " + jobId + " is " + status);
            }
            if (status == JobStatus.RUNNING && allTasksRunning(miniCluster().getExecutionGraph(jobId).get(10, TimeUnit.SECONDS))) {
                return;
            }
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("job " + jobId + " not running after " + timeout + " (status " + status + ")");
            }
            Thread.sleep(50);
        }
    }

    private static boolean allTasksRunning(AccessExecutionGraph graph) {
        for (AccessExecutionVertex v : graph.getAllExecutionVertices()) {
            ExecutionState s = v.getExecutionState();
            if (s != ExecutionState.RUNNING && s != ExecutionState.FINISHED) {
                return false;
            }
        }
        return true;
    }

    /** Cancels every job that has not ended yet and waits until they have. */
    public void cancelAllJobs() throws Exception {
        Collection<JobStatusMessage> jobs = miniCluster().listJobs().get(30, TimeUnit.SECONDS);
        List<JobID> cancelled = new ArrayList<>();
        for (JobStatusMessage job : jobs) {
            if (!job.getJobState().isGloballyTerminalState()) {
                try {
                    miniCluster.cancelJob(job.getJobId()).get(30, TimeUnit.SECONDS);
                    cancelled.add(job.getJobId());
                } catch (Exception e) {
                    // the job may have ended in between
                    JobStatus now = miniCluster.getJobStatus(job.getJobId()).get(10, TimeUnit.SECONDS);
                    if (!now.isGloballyTerminalState()) {
                        throw e;
                    }
                }
            }
        }
        for (JobID id : cancelled) {
            CompletableFuture<?> result = miniCluster.requestJobResult(id);
            result.get(60, TimeUnit.SECONDS);
        }
    }
}
