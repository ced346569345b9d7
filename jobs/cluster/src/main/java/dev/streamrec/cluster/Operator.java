package dev.streamrec.cluster;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;

import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;

import com.fasterxml.jackson.databind.JsonNode;

import dev.streamrec.avro.ModelPhase;
import dev.streamrec.avro.ModelVersion;
import dev.streamrec.client.FlinkRestClient;
import dev.streamrec.client.IndexShardMetrics;
import dev.streamrec.jobs.JobSetup;
import dev.streamrec.jobs.io.KafkaIO;
import dev.streamrec.schemas.AvroSingleObjectSerde;
import dev.streamrec.schemas.Topic;

/**
 * The operator's actions on the pipeline's jobs, through the Flink REST API: submit the pipeline, start a job (from
 * a savepoint), take a savepoint, stop with one, roll back to the previous build, rescale, report status. Every start
 * and savepoint goes to the job's {@link JobHistory}. The jobs are known by name (feature-job, index-job, dedup-job,
 * joiner-job); a job's consumer group and transactional ids derive from its topic prefix and name.
 */
public final class Operator {
    /** The pipeline in submission order: features first (recall reads them), the joiner last. */
    public static final List<String> PIPELINE = List.of("feature-job", "index-job", "dedup-job", "joiner-job");
    /** Published by every job (JobSetup): what its sinks' transactional ids start with. */

    private final FlinkJobsApi api;
    private final Path savepointDir;
    private final Path historyDir;
    private final String bootstrapServers;
    private final PrintStream out;
    private final Duration timeout;

    public Operator(FlinkJobsApi api, Path savepointDir, Path historyDir, String bootstrapServers, Duration timeout,
                    PrintStream out) {
        this.api = api;
        this.savepointDir = savepointDir;
        this.historyDir = historyDir;
        this.bootstrapServers = bootstrapServers;
        this.timeout = timeout;
        this.out = out;
    }

    public FlinkJobsApi api() {
        return api;
    }

    public JobHistory history(String job) throws IOException {
        return JobHistory.of(historyDir, job);
    }

    /** The job jar a build of this checkout made: {@code <job>/target/<job>-*-job.jar} under {@code root}. */
    public static Path defaultJar(Path root, String job) throws IOException {
        Path target = root.resolve(job).resolve("target");
        if (Files.isDirectory(target)) {
            try (Stream<Path> files = Files.list(target)) {
                Optional<Path> jar = files.filter(f -> f.getFileName().toString().startsWith(job + "-")
                        && f.getFileName().toString().endsWith("-job.jar")).findFirst();
                if (jar.isPresent()) {
                    return jar.get().toAbsolutePath();
                }
            }
        }
        throw new IOException("no job jar " + target + "/" + job + "-*-job.jar: build it (mvn -DskipTests package)");
    }

    /** A job's arguments: its broker and topic prefix, then the user's own options. */
    public List<String> jobArgs(String topicPrefix, List<String> options) {
        List<String> args = new ArrayList<>(List.of("--bootstrap.servers", bootstrapServers, "--topic.prefix", topicPrefix));
        args.addAll(options);
        return args;
    }

    /**
     * Refuses a job whose transactional ids would overlap those of a job that runs: two producers with one id fence
     * each other (the older one fails its next transaction).
     */
    public void checkTransactionalIds(String job, List<String> args) throws IOException, InterruptedException {
        String root = KafkaIO.transactionalIdRoot(topicPrefix(args), job);
        for (FlinkJobsApi.Job j : api.jobs()) {
            if (FlinkJobsApi.ended(j.state())) {
                continue;
            }
            String other = api.userConfig(j.id()).get(JobSetup.TRANSACTIONAL_ID_ROOT);
            if (other != null && (other.startsWith(root) || root.startsWith(other))) {
                throw new IllegalStateException("refusing to start " + job + ": its Kafka transactional ids (" + root
                        + "...) collide with those of running job " + j.name() + " " + j.id() + " (" + other
                        + "...); stop that job first, or give this one another --topic.prefix");
            }
        }
    }

    static String topicPrefix(List<String> args) {
        for (int i = 0; i < args.size(); i++) {
            if (args.get(i).equals("--topic.prefix") && i + 1 < args.size()) {
                return args.get(i + 1);
            }
            if (args.get(i).startsWith("--topic.prefix=")) {
                return args.get(i).substring("--topic.prefix=".length());
            }
        }
        return "";
    }

    /** Uploads and runs a job jar, waits until all its tasks run; records the start. Returns the job id. */
    public String start(String job, Path jar, List<String> args, int parallelism, String savepoint,
                        boolean allowNonRestoredState) throws IOException, InterruptedException {
        checkTransactionalIds(job, args);
        String jarId = api.upload(jar);
        String jobId;
        try {
            jobId = api.run(jarId, args, parallelism, savepoint, allowNonRestoredState);
        } finally {
            api.deleteJar(jarId);
        }
        awaitRunning(job, jobId);
        history(job).add(new JobHistory.Entry(System.currentTimeMillis(), "started", jobId, jar.toString(), args,
                parallelism, savepoint, false));
        out.println("started " + job + " " + jobId + " from " + jar.getFileName()
                + (savepoint == null ? "" : " restoring " + savepoint) + (parallelism > 0 ? " at parallelism " + parallelism : ""));
        return jobId;
    }

    public void awaitRunning(String job, String jobId) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!api.allTasksRunning(jobId)) {
            JsonNode state = api.get("/jobs/" + jobId);
            if (FlinkJobsApi.ended(state.path("state").asText())) {
                throw new IllegalStateException(job + " " + jobId + " ended (" + state.path("state").asText()
                        + ") before running; exceptions: " + api.get("/jobs/" + jobId + "/exceptions").path("root-exception").asText());
            }
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("timed out after " + timeout + " waiting for every task of " + job + " "
                        + jobId + " to run (state " + state.path("state").asText() + ")");
            }
            Thread.sleep(250);
        }
    }

    /** Submits every job of the pipeline in order, each once all tasks of the one before run. */
    public Map<String, String> submitPipeline(Path root, String topicPrefix, Map<String, List<String>> options,
                                              Map<String, Path> jars, Map<String, Integer> parallelism)
            throws IOException, InterruptedException {
        Map<String, String> ids = new LinkedHashMap<>();
        for (String job : PIPELINE) {
            Path jar = jars.containsKey(job) ? jars.get(job) : defaultJar(root, job);
            List<String> args = jobArgs(topicPrefix, options.getOrDefault(job, List.of()));
            ids.put(job, start(job, jar, args, parallelism.getOrDefault(job, 0), null, false));
        }
        return ids;
    }

    /** The running job of that name. */
    public FlinkJobsApi.Job running(String job) throws IOException, InterruptedException {
        return api.active(job).orElseThrow(() -> new IllegalStateException(job + " does not run on " + api.baseUrl()));
    }

    /** A savepoint of the running job (it keeps running), recorded in its history. Returns its location. */
    public String savepoint(String job) throws IOException, InterruptedException {
        return savepoint(job, false);
    }

    /** Stops the job with a savepoint, recorded in its history. Returns its location. */
    public String stop(String job) throws IOException, InterruptedException {
        return savepoint(job, true);
    }

    private String savepoint(String job, boolean stop) throws IOException, InterruptedException {
        FlinkJobsApi.Job j = running(job);
        String dir = savepointDir.toUri().toString();
        String trigger = stop ? api.stopWithSavepoint(j.id(), dir) : api.triggerSavepoint(j.id(), dir);
        String location = api.awaitSavepoint(j.id(), trigger, timeout);
        JobHistory.Entry start = history(job).lastStart().orElse(null);
        history(job).add(new JobHistory.Entry(System.currentTimeMillis(), "savepoint", j.id(),
                start == null ? null : start.jar(), start == null ? List.of() : start.args(),
                start == null ? 0 : start.parallelism(), location, stop));
        out.println((stop ? "stopped " + job + " " + j.id() + " with savepoint " : "savepoint of " + job + " " + j.id() + ": ")
                + location);
        return location;
    }

    /** Stops the job with a savepoint and starts {@code jar} (null: the same build) from it. */
    public String upgrade(String job, Path jar, int parallelism, boolean allowNonRestoredState)
            throws IOException, InterruptedException {
        JobHistory.Entry current = history(job).lastStart()
                .orElseThrow(() -> new IllegalStateException("no start of " + job + " in " + historyDir));
        String savepoint = stop(job);
        return start(job, jar == null ? Path.of(current.jar()) : jar, current.args(),
                parallelism > 0 ? parallelism : current.parallelism(), savepoint, allowNonRestoredState);
    }

    /** Stop with a savepoint, start the same build from it at another parallelism. */
    public String rescale(String job, int parallelism) throws IOException, InterruptedException {
        return upgrade(job, null, parallelism, false);
    }

    /**
     * Back to the build that ran before the current one. By default from a savepoint of the current job, taken now:
     * nothing is processed twice (the state must be readable by the old build: Avro ignores fields it does not know).
     * {@code fromUpgradeSavepoint}: from the savepoint the current build started from instead, which replays (and
     * writes again) everything since.
     */
    public String rollback(String job, boolean fromUpgradeSavepoint) throws IOException, InterruptedException {
        JobHistory history = history(job);
        JobHistory.Entry current = history.lastStart()
                .orElseThrow(() -> new IllegalStateException("no start of " + job + " in " + historyDir));
        JobHistory.Entry previous = history.previousBuild()
                .orElseThrow(() -> new IllegalStateException("no earlier build of " + job + " in " + historyDir));
        String savepoint = stop(job);
        if (fromUpgradeSavepoint) {
            if (current.savepoint() == null) {
                throw new IllegalStateException("the current " + job + " did not start from a savepoint");
            }
            savepoint = current.savepoint();
        }
        return start(job, Path.of(previous.jar()), previous.args(), current.parallelism(), savepoint, false);
    }

    /** One line per job: state, uptime, last checkpoint, lag per input topic. */
    public List<String> status(String topicPrefix) throws IOException, InterruptedException {
        List<String> lines = new ArrayList<>();
        for (String job : PIPELINE) {
            Optional<FlinkJobsApi.Job> j = api.active(job);
            if (j.isEmpty()) {
                lines.add(String.format("%-12s not running", job));
                continue;
            }
            JsonNode cp = api.latestCheckpoint(j.get().id());
            String checkpoint = cp.isMissingNode() || cp.isNull() ? "none yet" : String.format("#%d %ds ago, %d ms, %s",
                    cp.path("id").asLong(), (System.currentTimeMillis() - cp.path("latest_ack_timestamp").asLong()) / 1000,
                    cp.path("end_to_end_duration").asLong(), bytes(cp.path("state_size").asLong()));
            String prefix = Optional.ofNullable(api.userConfig(j.get().id()).get(JobSetup.TOPIC_PREFIX)).orElse(topicPrefix);
            lines.add(String.format("%-12s %-10s %s up %s, checkpoint %s, lag %s", job, j.get().state(), j.get().id(),
                    Duration.ofMillis(j.get().duration()).withNanos(0).toString().substring(2).toLowerCase(), checkpoint,
                    lag(prefix + job)));
        }
        return lines;
    }

    /**
     * Publishes a model version's phase to model-versions (key = version). SERVING with {@code expectedItems} is
     * published only once index-job's shards hold that many items of the version (over its metrics), else fails.
     */
    public void publishModelPhase(String topicPrefix, String version, ModelPhase phase, Long expectedItems, Integer dimension)
            throws IOException, InterruptedException {
        if (phase == ModelPhase.SERVING && expectedItems != null) {
            FlinkJobsApi.Job index = running("index-job");
            FlinkRestClient rest = new FlinkRestClient(api.baseUrl(), Duration.ofSeconds(10));
            long deadline = System.nanoTime() + timeout.toNanos();
            long items;
            while ((items = IndexShardMetrics.versionItems(rest, index.id(), version)) < expectedItems) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("index-job holds " + items + " items of " + version + ", not the expected "
                            + expectedItems + " after " + timeout + ": SERVING not published");
                }
                Thread.sleep(500);
            }
            out.println("index-job holds " + items + " items of " + version);
        }
        ModelVersion record = ModelVersion.newBuilder().setVersion(version).setPhase(phase).setExpectedItems(expectedItems)
                .setDimension(dimension).setEventTime(System.currentTimeMillis()).build();
        Properties props = new Properties();
        props.put("bootstrap.servers", bootstrapServers);
        props.put("enable.idempotence", "true");
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(props, new ByteArraySerializer(), new ByteArraySerializer())) {
            producer.send(new ProducerRecord<>(Topic.MODEL_VERSIONS.name(topicPrefix), null, record.getEventTime(),
                    version.getBytes(StandardCharsets.UTF_8), AvroSingleObjectSerde.of(ModelVersion.class).encode(record))).get();
        } catch (java.util.concurrent.ExecutionException e) {
            throw new IOException("cannot publish " + version + " " + phase + ": " + e.getCause().getMessage(), e.getCause());
        }
        out.println("published " + version + " " + phase + " to " + Topic.MODEL_VERSIONS.name(topicPrefix));
    }

    /** Records behind per input topic of a job's consumer group (end offsets minus committed ones). */
    public Map<String, Long> lagByTopic(String group) throws IOException {
        Properties props = new Properties();
        props.put("bootstrap.servers", bootstrapServers);
        props.put("request.timeout.ms", "5000");
        props.put("default.api.timeout.ms", "10000");
        try (Admin admin = Admin.create(props)) {
            Map<TopicPartition, OffsetAndMetadata> committed =
                    admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get(10, TimeUnit.SECONDS);
            Map<TopicPartition, OffsetSpec> latest = new LinkedHashMap<>();
            committed.keySet().forEach(tp -> latest.put(tp, OffsetSpec.latest()));
            Map<TopicPartition, Long> ends = new LinkedHashMap<>();
            admin.listOffsets(latest).all().get(10, TimeUnit.SECONDS).forEach((tp, r) -> ends.put(tp, r.offset()));
            Map<String, Long> lag = new java.util.TreeMap<>();
            committed.forEach((tp, offset) -> lag.merge(tp.topic(),
                    Math.max(0, ends.getOrDefault(tp, 0L) - (offset == null ? 0 : offset.offset())), Long::sum));
            return lag;
        } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
            throw new IOException("cannot read the offsets of consumer group " + group + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        }
    }

    private String lag(String group) {
        try {
            Map<String, Long> lag = lagByTopic(group);
            return lag.isEmpty() ? "(no offsets committed yet)" : lag.toString();
        } catch (IOException e) {
            return "(unknown: " + e.getMessage() + ")";
        }
    }

    private static String bytes(long n) {
        return n < 1 << 20 ? (n >> 10) + " KiB" : (n >> 20) + " MiB";
    }
}
