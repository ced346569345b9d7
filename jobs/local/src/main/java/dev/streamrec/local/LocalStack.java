package dev.streamrec.local;

import java.io.IOException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import org.apache.avro.specific.SpecificRecord;
import org.apache.avro.specific.SpecificRecordBase;
import org.apache.flink.api.common.JobID;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.MemorySize;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.runtime.minicluster.MiniCluster;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;

import dev.streamrec.avro.Impression;
import dev.streamrec.avro.ItemEmbedding;
import dev.streamrec.avro.RecallResult;
import dev.streamrec.avro.UserAction;
import dev.streamrec.avro.UserFeatures;
import dev.streamrec.client.Lookup;
import dev.streamrec.client.QueryTarget;
import dev.streamrec.client.RecallClient;
import dev.streamrec.client.ServingText;
import dev.streamrec.jobs.JobSetup;
import dev.streamrec.jobs.PipelineJob;
import dev.streamrec.jobs.config.JobConfig;
import dev.streamrec.jobs.config.Option;
import dev.streamrec.local.demo.DemoDataGenerator;
import dev.streamrec.local.demo.MovieLensReplay;
import dev.streamrec.schemas.Topic;
import dev.streamrec.testkit.EmbeddedKafkaBroker;
import dev.streamrec.testkit.KafkaTestIO;
import dev.streamrec.testkit.LocalFlinkCluster;
import dev.streamrec.testkit.TempDirs;
import dev.streamrec.testkit.TopicAdmin;

/**
 * The local stack behind the README's run command: a real Kafka broker, the pipeline topics, a Flink cluster
 * (MiniCluster, RocksDB, queryable state, REST/web UI), every job found in the job jars submitted to it like to a
 * real cluster, demo data (or a MovieLens replay) flowing in, and a status line plus a few users' features and recall
 * read back through queryable state ({@link RecallClient}) every few seconds. Ctrl-C shuts everything down.
 */
public final class LocalStack implements AutoCloseable {
    static final Option MOVIELENS = Option.of("movielens", "", "Replay a MovieLens directory (ratings.csv, movies.csv) instead of the generator.");
    static final Option RATE = Option.of("rate", 2000, "Events produced per second.");
    static final Option USERS = Option.of("users", 10000, "Generator: users.");
    static final Option ITEMS = Option.of("items", 5000, "Generator: items.");
    static final Option SEED = Option.of("seed", 42, "Generator: random seed.");
    static final Option PARTITIONS = Option.of("partitions", 2, "Partitions per topic.");
    static final Option KAFKA_PORT = Option.of("kafka.port", 9092, "Broker port (0 = any free port).");
    static final Option REST_PORT = Option.of("rest.port", 8081, "Flink REST / web UI port (0 = any free port).");
    static final Option PROXY_PORT = Option.of("qs.proxy.port", 9069, "Queryable state proxy port.");
    static final Option SERVER_PORT = Option.of("qs.server.port", 9067, "Queryable state server port.");
    static final Option JOB_JARS = Option.of("job.jars", "", "Comma-separated job jars; default: every */target/*-job.jar below the working directory.");
    static final Option DURATION_S = Option.of("duration.s", 0, "Stop after this many seconds (0 = run until Ctrl-C).");
    static final Option PRINT_EVERY_S = Option.of("print.every.s", 5, "Seconds between status reports.");
    static final List<Option> OPTIONS = List.of(MOVIELENS, RATE, USERS, ITEMS, SEED, PARTITIONS, KAFKA_PORT, REST_PORT,
            PROXY_PORT, SERVER_PORT, JOB_JARS, DURATION_S, PRINT_EVERY_S);

    private final JobConfig config;
    private final Path workDir;
    private final AtomicBoolean running = new AtomicBoolean(true);
    private final AtomicLong produced = new AtomicLong();
    private final Map<String, Long> activity = new java.util.concurrent.ConcurrentHashMap<>();
    private final Map<String, JobID> jobs = new LinkedHashMap<>();
    private EmbeddedKafkaBroker broker;
    private MiniCluster cluster;
    private RecallClient recallClient;
    private Thread producerThread;

    LocalStack(JobConfig config) throws IOException {
        this.config = config;
        this.workDir = Files.createTempDirectory("streamrec-local-");
    }

    public static void main(String[] args) throws Exception {
        JobConfig config;
        try {
            config = JobConfig.parse("local-stack", OPTIONS, args);
        } catch (JobConfig.HelpRequested help) {
            System.out.println(help.getMessage());
            return;
        }
        LocalStack stack = new LocalStack(config);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            say("shutting down...");
            stack.close();
            say("stopped.");
        }, "local-stack-shutdown"));
        try {
            stack.run();
        } catch (Exception e) {
            say("local stack failed: " + e);
            e.printStackTrace();
            System.exit(1);
        }
    }

    /** The configured port, or a free one when it is 0 (the clients must know the real port). */
    private int portOrFree(Option port) {
        return config.getInt(port) == 0 ? EmbeddedKafkaBroker.freePort() : config.getInt(port);
    }

    void run() throws Exception {
        say("starting Kafka broker (Apache Kafka 4.2, KRaft)...");
        broker = EmbeddedKafkaBroker.builder().port(config.getInt(KAFKA_PORT)).fastStartup(false).start();
        String bootstrap = broker.bootstrapServers();
        List<String> topics = TopicAdmin.createPipelineTopics(bootstrap, "", config.getInt(PARTITIONS));
        say("broker at " + bootstrap + ", topics: " + String.join(", ", topics));

        say("starting Flink (MiniCluster, RocksDB, queryable state)...");
        int restPort = portOrFree(REST_PORT);
        int proxyPort = portOrFree(PROXY_PORT);
        Configuration conf = LocalFlinkCluster.configuration(workDir, 8, restPort, proxyPort, portOrFree(SERVER_PORT),
                MemorySize.parse("512m"));
        // The launcher's own class path already holds the kit, Avro and the Kafka client that job jars bundle (a real
        // cluster's lib/ does not): parent-first keeps one copy of each in this JVM.
        conf.setString("classloader.resolve-order", "parent-first");
        cluster = LocalFlinkCluster.start(conf);
        restPort = LocalFlinkCluster.restPort(cluster);
        say("Flink web UI and REST at http://" + LocalFlinkCluster.HOST + ":" + restPort);
        recallClient = RecallClient.builder().rest("http://" + LocalFlinkCluster.HOST + ":" + restPort)
                .proxy(LocalFlinkCluster.HOST, proxyPort).timeout(Duration.ofSeconds(2)).build();
        say("queryable state proxy at " + LocalFlinkCluster.HOST + ":" + proxyPort);

        boolean movielens = !config.get(MOVIELENS).isBlank();
        for (Path jar : jobJars()) {
            submitJobsIn(jar, conf, restPort, bootstrap, movielens);
        }
        if (jobs.isEmpty()) {
            throw new IllegalStateException("no job jar found: build with 'mvn -DskipTests install' first");
        }

        producerThread = new Thread(() -> produce(bootstrap, movielens), "demo-producer");
        producerThread.setDaemon(true);
        producerThread.start();
        report(bootstrap);
    }

    private List<Path> jobJars() throws IOException {
        if (!config.get(JOB_JARS).isBlank()) {
            return config.getList(JOB_JARS).stream().map(Path::of).collect(Collectors.toList());
        }
        try (Stream<Path> modules = Files.list(Path.of("."))) {
            List<Path> jars = new ArrayList<>();
            for (Path module : modules.sorted().collect(Collectors.toList())) {
                Path target = module.resolve("target");
                if (Files.isDirectory(target)) {
                    try (Stream<Path> files = Files.list(target)) {
                        files.filter(f -> f.getFileName().toString().endsWith("-job.jar")).forEach(jars::add);
                    }
                }
            }
            return jars;
        }
    }

    /** Submits every {@link PipelineJob} a jar declares, shipping the jar to the cluster as `flink run` would. */
    private void submitJobsIn(Path jar, Configuration clusterConf, int restPort, String bootstrap, boolean movielens) throws Exception {
        URLClassLoader loader = new URLClassLoader(new URL[] {jar.toUri().toURL()}, LocalStack.class.getClassLoader());
        for (PipelineJob job : ServiceLoader.load(PipelineJob.class, loader)) {
            if (jobs.containsKey(job.name())) {
                continue;
            }
            List<String> args = new ArrayList<>(List.of("--bootstrap.servers", bootstrap, "--parallelism", "2",
                    "--checkpoint.interval.ms", "2000", "--source.starting-offsets", "earliest"));
            if (movielens) {
                // A replay of 1996-2018 history: event time is decades behind the wall clock, by design.
                args.addAll(List.of("--input.max-past-skew.ms", String.valueOf(Long.MAX_VALUE / 4)));
            }
            JobConfig jobConfig = job.parseConfig(args.toArray(new String[0]));
            StreamExecutionEnvironment env = StreamExecutionEnvironment.createRemoteEnvironment(
                    LocalFlinkCluster.HOST, restPort, clusterConf, jar.toAbsolutePath().toString());
            // Flink resolves lambdas and types through the context class loader, as `flink run` sets it.
            ClassLoader previous = Thread.currentThread().getContextClassLoader();
            Thread.currentThread().setContextClassLoader(loader);
            JobClient client;
            try {
                client = JobSetup.submit(job, env, jobConfig);
            } finally {
                Thread.currentThread().setContextClassLoader(previous);
            }
            jobs.put(job.name(), client.getJobID());
            say("submitted " + job.name() + " from " + jar.getFileName() + " as job " + client.getJobID());
        }
    }

    private void produce(String bootstrap, boolean movielens) {
        try (KafkaProducer<String, byte[]> producer = KafkaTestIO.producer(bootstrap)) {
            Iterator<? extends SpecificRecord> events;
            List<ItemEmbedding> items;
            if (movielens) {
                MovieLensReplay replay = MovieLensReplay.load(Path.of(config.get(MOVIELENS)), "v1");
                items = replay.items();
                events = replay.actions().iterator();
                say("MovieLens: " + items.size() + " movies, " + replay.actions().size() + " ratings to replay");
            } else {
                DemoDataGenerator generator = new DemoDataGenerator(DemoDataGenerator.Config.builder()
                        .seed(config.getLong(SEED)).users(config.getInt(USERS)).items(config.getInt(ITEMS))
                        .wallClock(true).build());
                items = generator.items();
                events = generator.events();
            }
            // Kafka timestamps are the time of production: a replay's event times (years back) stay in the records,
            // where the jobs read them; as Kafka timestamps, retention would delete them at once.
            for (ItemEmbedding item : items) {
                send(producer, Topic.ITEM_EMBEDDINGS, item.getItemId(), item, System.currentTimeMillis());
            }
            producer.flush();
            say("produced " + items.size() + " item embeddings");
            RateLimiter limiter = new RateLimiter(config.getInt(RATE));
            while (running.get() && events.hasNext()) {
                limiter.acquire();
                SpecificRecord event = events.next();
                if (event instanceof UserAction a) {
                    send(producer, Topic.USER_ACTIONS, a.getUserId(), a, System.currentTimeMillis());
                    activity.merge(a.getUserId(), 1L, Long::sum);
                } else if (event instanceof Impression i) {
                    send(producer, Topic.IMPRESSIONS, i.getUserId(), i, System.currentTimeMillis());
                }
                produced.incrementAndGet();
            }
            if (running.get()) {
                say("input exhausted: all events produced");
            }
        } catch (Exception e) {
            if (running.get()) {
                say("producer failed: " + e);
            }
        }
    }

    private static <T extends SpecificRecordBase> void send(KafkaProducer<String, byte[]> producer, Topic topic, String key,
                                                            T value, long timestamp) {
        producer.send(new ProducerRecord<>(topic.name(""), null, timestamp, key, KafkaTestIO.encode(value)));
    }

    /** Prints progress until the duration ends (or forever): counts per topic and a few users read through queryable state. */
    private void report(String bootstrap) throws Exception {
        long end = config.getLong(DURATION_S) == 0 ? Long.MAX_VALUE : System.nanoTime() + TimeUnit.SECONDS.toNanos(config.getLong(DURATION_S));
        Map<String, Long> counts = new HashMap<>();
        java.util.Properties props = KafkaTestIO.consumerProperties(bootstrap);
        props.setProperty("group.id", "local-stack-monitor");
        props.setProperty("auto.offset.reset", "earliest");
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(props,
                new org.apache.kafka.common.serialization.ByteArrayDeserializer(),
                new org.apache.kafka.common.serialization.ByteArrayDeserializer())) {
            consumer.subscribe(List.of(Topic.USER_FEATURES.name(""), Topic.DEAD_LETTERS.name(""), Topic.RECALL.name(""),
                    Topic.FRESH_RECALL.name(""), Topic.TRAINING_EXAMPLES.name("")));
            long nextPrint = System.nanoTime();
            while (running.get() && System.nanoTime() < end) {
                ConsumerRecords<byte[], byte[]> records = consumer.poll(Duration.ofMillis(200));
                records.forEach(r -> counts.merge(r.topic(), 1L, Long::sum));
                if (System.nanoTime() >= nextPrint) {
                    printStatus(counts);
                    nextPrint = System.nanoTime() + TimeUnit.SECONDS.toNanos(config.getLong(PRINT_EVERY_S));
                }
            }
        }
        if (System.nanoTime() >= end) {
            say("duration reached");
            System.exit(0);
        }
    }

    private void printStatus(Map<String, Long> counts) {
        StringBuilder sb = new StringBuilder();
        sb.append(String.format("events in: %,d | out: ", produced.get()));
        sb.append(counts.entrySet().stream().sorted(Map.Entry.comparingByKey())
                .map(e -> e.getKey() + "=" + String.format("%,d", e.getValue())).collect(Collectors.joining(", ")));
        say(sb.toString());
        boolean features = jobs.containsKey(QueryTarget.FEATURE_JOB);
        boolean recall = jobs.containsKey(QueryTarget.INDEX_JOB);
        if (!features && !recall) {
            return;
        }
        List<String> users = activity.entrySet().stream().sorted(Map.Entry.<String, Long>comparingByValue().reversed())
                .limit(3).map(Map.Entry::getKey).collect(Collectors.toList());
        for (String user : users) {
            if (features) {
                Lookup<UserFeatures> f = recallClient.userFeatures(user);
                say("  " + (f.outcome() == Lookup.Outcome.DEADLINE_PASSED ? notQueryable(f) : describe(user, f.value())));
            }
            if (recall) {
                Lookup<RecallResult> r = recallClient.recall(user, Duration.ofSeconds(1));
                long now = System.currentTimeMillis();
                say("    " + (r.found() ? "recall (queryable state): " + ServingText.recallSummary(r.value(), 3, now)
                        : r.outcome() == Lookup.Outcome.NO_VALUE ? "no recall yet" : notQueryable(r)));
            }
        }
    }

    private static String notQueryable(Lookup<?> lookup) {
        return lookup.key() + ": " + lookup.target() + " not queryable yet (" + lookup.problem() + ")";
    }

    static String describe(String user, UserFeatures f) {
        if (f == null) {
            return user + ": no features yet";
        }
        String triggers = f.getTriggers().stream().limit(3).map(t -> t.getAction() + ":" + t.getItemId())
                .collect(Collectors.joining(" "));
        String prefs = f.getCategoryPreferences().entrySet().stream()
                .sorted(Comparator.comparingDouble((Map.Entry<String, Double> e) -> -e.getValue())).limit(3)
                .map(e -> String.format("%s=%.2f", e.getKey(), e.getValue())).collect(Collectors.joining(" "));
        String vectors = f.getVectors().stream().map(v -> v.getModelVersion() + String.format("[%.3f, %.3f, ...]",
                v.getVector().get(0), v.getVector().get(1))).collect(Collectors.joining(" "));
        long lagMs = System.currentTimeMillis() - f.getUpdatedAt();
        return String.format("user %s (queryable state, seq %d, updated %d ms ago): recent [%s] | top categories [%s] | vectors %s",
                user, f.getUpdateSeq(), lagMs, triggers, prefs, vectors);
    }

    @Override
    public void close() {
        running.set(false);
        if (cluster != null) {
            cancelJobs();
        }
        if (recallClient != null) {
            recallClient.close();
        }
        if (cluster != null) {
            try {
                cluster.closeAsync().get(60, TimeUnit.SECONDS);
            } catch (Exception e) {
                say("Flink did not stop cleanly: " + e);
            }
        }
        if (broker != null) {
            broker.close();
        }
        TempDirs.deleteRecursively(workDir);
    }

    /**
     * Cancels every job and waits until each has terminated, before the cluster shuts down. A cancelled
     * exactly-once sink aborts its open Kafka transaction on close, which has been seen to wait for the producer's
     * max.block.ms (60 s) when a checkpoint's commit was in flight; the cluster's own shutdown would otherwise give up.
     */
    private void cancelJobs() {
        for (JobID job : jobs.values()) {
            try {
                cluster.cancelJob(job).get(30, TimeUnit.SECONDS);
            } catch (Exception e) {
                // already gone
            }
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        boolean told = false;
        for (Map.Entry<String, JobID> job : jobs.entrySet()) {
            while (System.nanoTime() < deadline) {
                try {
                    if (cluster.getJobStatus(job.getValue()).get(10, TimeUnit.SECONDS).isGloballyTerminalState()) {
                        break;
                    }
                } catch (Exception e) {
                    break; // unknown to the cluster: gone
                }
                if (!told) {
                    say("waiting for the jobs to finish cancelling (closing their Kafka transactions)...");
                    told = true;
                }
                sleepQuietly(500);
            }
        }
    }

    private static void sleepQuietly(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    static void say(String line) {
        System.out.println(java.time.LocalTime.now().withNano(0) + " " + line);
        System.out.flush();
    }

    /** Paces the producer to a steady rate without busy-waiting. */
    static final class RateLimiter {
        private final long intervalNanos;
        private long next = System.nanoTime();

        RateLimiter(int perSecond) {
            this.intervalNanos = 1_000_000_000L / Math.max(1, perSecond);
        }

        void acquire() throws InterruptedException {
            next += intervalNanos;
            long wait = next - System.nanoTime();
            if (wait > 1_000_000) {
                TimeUnit.NANOSECONDS.sleep(wait);
            }
        }
    }
}
