package dev.streamrec.cluster;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;

import dev.streamrec.avro.RecallRefill;
import dev.streamrec.avro.RecallResult;
import dev.streamrec.client.FlinkRestClient;
import dev.streamrec.client.IndexShardMetrics;
import dev.streamrec.client.QueryTarget;
import dev.streamrec.local.demo.DemoDataGenerator;
import dev.streamrec.schemas.Topic;
import dev.streamrec.testkit.EmbeddedKafkaBroker;
import dev.streamrec.testkit.KafkaTestIO;
import dev.streamrec.testkit.TempDirs;
import dev.streamrec.testkit.TopicAdmin;

/**
 * One run of the pipeline on a standalone cluster started by {@code bin/cluster} (what the cluster test and
 * bin/bench-cluster share): the cluster on ports away from the defaults (a developer's own cluster keeps running),
 * the four jobs submitted by {@link Operator}, the steady {@link SteadyFeed}, the {@link PipelineChecker}, the
 * {@link ClusterDrills}, and the helpers that read recall back.
 */
final class ClusterRun implements AutoCloseable {
    static final String PREFIX = "it-";
    /** joiner-job runs with a short window, no allowed lateness and every negative kept: one example per impression. */
    static final long WINDOW_MS = 10_000;
    static final long WATERMARK_MARGIN_MS = 15_000;
    /** The feed: a few users acting often, a small catalogue (model version v1). */
    static final DemoDataGenerator.Config FEED = DemoDataGenerator.Config.builder().users(40).items(300).categories(10).build();
    static final double FEED_EVENTS_PER_S = 80;
    static final Map<String, List<String>> OPTIONS = Map.of("joiner-job", List.of(
            "--joiner.window.ms", Long.toString(WINDOW_MS), "--joiner.allowed-lateness.ms", "0",
            "--joiner.negative-sample-rate", "1.0"));

    final Path root;
    final Path dir;
    final Duration wait;
    final ClusterConfig config;
    final Operator operator;
    final ClusterDrills drills;
    final PipelineChecker checker;
    private final FlinkRestClient rest;
    SteadyFeed feed;

    private ClusterRun(Path root, Path dir, Duration wait) throws Exception {
        this.root = root;
        this.dir = dir;
        this.wait = wait;
        this.config = ClusterCommand.load(dir);
        this.operator = new Operator(new FlinkJobsApi(config.restUrl()), config.savepointDir(), dir.resolve("history"),
                config.bootstrapServers(), wait, System.out);
        this.drills = new ClusterDrills(new StandaloneCluster(config), operator, wait);
        this.checker = new PipelineChecker(config.bootstrapServers(), PREFIX, WINDOW_MS, WATERMARK_MARGIN_MS);
        this.rest = new FlinkRestClient(config.restUrl(), Duration.ofSeconds(10));
    }

    /** {@code bin/cluster start} in a new temporary directory; fails with where the logs are if it does not come up. */
    static ClusterRun start(Duration wait) throws Exception {
        Path root = projectRoot();
        Path dir = Files.createTempDirectory("streamrec-cluster-test-");
        int code = run(root, "bin/cluster", "start", "--dir", dir.toString(), "--rest-port", "18081", "--rpc-port", "16123",
                "--kafka-port", Integer.toString(EmbeddedKafkaBroker.freePort()), "--queryable-proxy-port", "19069",
                "--queryable-server-port", "19059", "--prometheus-port", "19249", "--taskmanager-memory", "2g",
                "--timeout", "PT5M");
        if (code != 0) {
            throw new IllegalStateException("bin/cluster start exited with " + code + " (logs in " + dir + "/log)");
        }
        return new ClusterRun(root, dir, wait);
    }

    /** Creates the topics and submits the four jobs (index-job at parallelism 2); returns the job ids by name. */
    Map<String, String> submit() throws Exception {
        TopicAdmin.createPipelineTopics(config.bootstrapServers(), PREFIX, 2);
        return operator.submitPipeline(root, PREFIX, OPTIONS, Map.of(), Map.of("index-job", 2));
    }

    void startFeed() {
        feed = SteadyFeed.start(config.bootstrapServers(), PREFIX, FEED, FEED_EVENTS_PER_S);
    }

    PipelineChecker.Report check() throws InterruptedException {
        return checker.check(feed.sent(), wait);
    }

    /** The next build of a job: its jar with a field added to a state record (see {@link NextBuild}). */
    Path nextBuild(String job) throws Exception {
        Path current = Path.of(operator.history(job).lastStart().orElseThrow().jar());
        return NextBuild.of(job, current, Files.createDirectories(dir.resolve("next-build")));
    }

    /** A user every serving job has state for, once it does (the feed's users act from the start), by job. */
    Map<String, String> servingKeys() throws Exception {
        String user = usersWithRecall(1).get(0);
        Map<String, String> keys = new LinkedHashMap<>();
        for (String job : Operator.PIPELINE) {
            if (ClusterDrills.servedState(job) != null) {
                drills.awaitServing(job, user, System.nanoTime() + wait.toNanos());
                keys.put(job, user);
            }
        }
        return keys;
    }

    /** {@code n} users the feed acted for whose recall index-job serves with candidates (fails if there are fewer). */
    List<String> usersWithRecall(int n) throws Exception {
        List<String> users = new ArrayList<>();
        long deadline = System.nanoTime() + wait.toNanos();
        while (users.size() < n && System.nanoTime() < deadline) {
            users.clear();
            for (String user : new TreeSet<>(feed.sent().actionsPerUser().keySet())) {
                if (drills.lookup(QueryTarget.recall(), user, r -> !r.getCandidates().isEmpty()) != null) {
                    users.add(user);
                }
                if (users.size() == n) {
                    break;
                }
            }
        }
        if (users.size() < n) {
            throw new IllegalStateException("only " + users.size() + " users with recall after " + wait + ": " + users);
        }
        return users;
    }

    /**
     * The users' recall recomputed now: a refill without exclusions each (what dedup-job sends when a user runs
     * short), then their recall as index-job serves it once computed after that, as item:score lists.
     */
    Map<String, List<String>> recomputedRecall(List<String> users) throws Exception {
        long asked = System.currentTimeMillis();
        try (KafkaProducer<String, byte[]> p = KafkaTestIO.producer(config.bootstrapServers())) {
            for (String user : users) {
                RecallRefill refill = new RecallRefill(user, List.of(), 0, 0, asked, asked);
                p.send(new ProducerRecord<>(Topic.RECALL_REFILLS.name(PREFIX), user, KafkaTestIO.encode(refill))).get(1, TimeUnit.MINUTES);
            }
        }
        Map<String, List<String>> recall = new LinkedHashMap<>();
        for (String user : users) {
            RecallResult r = drills.lookup(QueryTarget.recall(), user, x -> x.getComputedAt() >= asked);
            if (r == null) {
                throw new IllegalStateException("no recall of " + user + " computed after its refill within " + wait);
            }
            recall.put(user, r.getCandidates().stream().map(c -> c.getItemId() + ":" + c.getScore()).toList());
        }
        return recall;
    }

    /**
     * Bytes of a savepoint of the job taken now. A savepoint (canonical format) holds exactly the live state, where an
     * incremental checkpoint's size also counts what RocksDB has not compacted away yet.
     */
    long savepointBytes(String job) throws Exception {
        Path savepoint = Path.of(URI.create(operator.savepoint(job)));
        try (var files = Files.walk(savepoint)) {
            return files.filter(Files::isRegularFile).mapToLong(f -> f.toFile().length()).sum();
        }
    }

    /** Items of a model version index-job's shards hold (their {@code version.V.items} gauges). */
    long versionItems(String version) throws Exception {
        return IndexShardMetrics.versionItems(rest, operator.running("index-job").id(), version);
    }

    /** The Prometheus text of an endpoint (0: the JobManager, n: TaskManager n). */
    String scrape(int process) throws IOException, InterruptedException {
        HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:"
                + config.prometheusPort(process) + "/metrics")).timeout(Duration.ofSeconds(20)).build(),
                HttpResponse.BodyHandlers.ofString());
        return r.body();
    }

    /**
     * Stops the feed and {@code bin/cluster stop}; keeps the processes' logs in {@code target/cluster-test-logs} (for a
     * failure to be looked into) and deletes the run's directory. Returns the processes still running after the stop.
     */
    @Override
    public void close() throws Exception {
        if (feed != null) {
            feed.close();
        }
        checker.close();
        drills.close();
        run(root, "bin/cluster", "stop", "--dir", dir.toString());
        Path logs = Path.of("target", "cluster-test-logs");
        TempDirs.deleteRecursively(logs);
        Files.createDirectories(logs);
        try (var files = Files.list(config.logDir())) {
            for (Path f : files.filter(f -> f.toString().endsWith(".log") || f.toString().endsWith(".out")).toList()) {
                Files.copy(f, logs.resolve(f.getFileName()));
            }
        }
        Map<String, Long> left = new StandaloneCluster(config).running();
        TempDirs.deleteRecursively(dir);
        if (!left.isEmpty()) {
            throw new IllegalStateException("processes left after bin/cluster stop: " + left);
        }
    }

    /** Runs a command of the project (bin/...) from its root; its output goes to this process's output. */
    static int run(Path root, String... command) throws Exception {
        Process p = new ProcessBuilder(command).directory(root.toFile()).redirectErrorStream(true).start();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        p.getInputStream().transferTo(out);
        if (!p.waitFor(10, TimeUnit.MINUTES)) {
            p.destroyForcibly();
            throw new IllegalStateException(String.join(" ", command) + " did not return within 10 minutes");
        }
        new PrintStream(System.out, true, StandardCharsets.UTF_8).print(out.toString(StandardCharsets.UTF_8));
        return p.exitValue();
    }

    static Path projectRoot() {
        for (Path d = Path.of("").toAbsolutePath(); d != null; d = d.getParent()) {
            if (Files.isRegularFile(d.resolve("bin").resolve("cluster"))) {
                return d;
            }
        }
        throw new IllegalStateException("bin/cluster not found above " + Path.of("").toAbsolutePath());
    }
}
