package dev.streamrec.local;

import java.io.IOException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.EnumSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.ServiceLoader;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import org.apache.avro.specific.SpecificRecord;
import org.apache.avro.specific.SpecificRecordBase;
import org.apache.flink.api.common.JobID;
import org.apache.flink.api.dag.Transformation;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.MemorySize;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.runtime.minicluster.MiniCluster;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.transformations.SourceTransformation;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

import dev.streamrec.avro.Impression;
import dev.streamrec.avro.ItemEmbedding;
import dev.streamrec.avro.RecallResult;
import dev.streamrec.avro.SeenSet;
import dev.streamrec.avro.TrainingExample;
import dev.streamrec.avro.UserAction;
import dev.streamrec.avro.UserFeatures;
import dev.streamrec.client.FeedRecall;
import dev.streamrec.client.FlinkRestClient;
import dev.streamrec.client.Lookup;
import dev.streamrec.client.QueryTarget;
import dev.streamrec.client.RecallClient;
import dev.streamrec.client.ServingText;
import dev.streamrec.jobs.JobSetup;
import dev.streamrec.jobs.PipelineJob;
import dev.streamrec.jobs.config.CommonOptions;
import dev.streamrec.jobs.config.JobConfig;
import dev.streamrec.jobs.config.Option;
import dev.streamrec.local.bench.BenchStack;
import dev.streamrec.local.demo.DemoDataGenerator;
import dev.streamrec.local.demo.FeedPages;
import dev.streamrec.local.demo.MovieLensReplay;
import dev.streamrec.schemas.Topic;
import dev.streamrec.seen.SeenTracker;
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
 *
 * <p>Nothing starts before the command line ({@link LaunchOptions}), the demo data and every job's arguments have been
 * checked ({@link #plan}); a failure then is exit status 64 with one line. A demo producer that fails later stops the
 * stack with exit status 1 and the reason.
 */
public final class LocalStack implements AutoCloseable {
    /** Exit status of a bad command line or input (BSD's EX_USAGE): nothing was started. */
    static final int USAGE = 64;

    private final LaunchOptions options;
    private final JobConfig config;
    private final String topicPrefix;
    private final AtomicBoolean running = new AtomicBoolean(true);
    private final AtomicLong produced = new AtomicLong();
    /** joiner-job's name (it is found in its jar, not linked): the demo shortens its window. */
    static final String JOINER_JOB = "joiner-job";

    /** Impressions the demo feed produced (pages of fresh recall shown to the featured users). */
    private final AtomicLong shown = new AtomicLong();
    /** Clicks the demo users made on what they were shown. */
    private final AtomicLong clicked = new AtomicLong();
    /** training-examples read, and the positives among them (joiner-job). */
    private final AtomicLong examples = new AtomicLong();
    private final AtomicLong positiveExamples = new AtomicLong();
    private static final long FEED_EVERY_MS = 1000;
    /** Feature updates per user, from the user-features topic: the users the status shows (demo data or the user's own). */
    private final Map<String, Long> activity = new ConcurrentHashMap<>();
    /** Why the stack must stop (a producer that failed); null while all is well. */
    private final AtomicReference<String> failure = new AtomicReference<>();
    private final List<PlannedJob> planned = new ArrayList<>();
    private final Map<String, JobID> jobs = new LinkedHashMap<>();
    private Path workDir;
    private EmbeddedKafkaBroker broker;
    private MiniCluster cluster;
    private RecallClient recallClient;
    private DecoderReads decoderReads;
    private Thread producerThread;

    /** A job found in a jar, its arguments checked and the topics its graph reads known before anything starts. */
    record PlannedJob(PipelineJob job, Path jar, URLClassLoader loader, Set<Topic> reads) {}

    /** The demo data, prepared (a MovieLens directory read) before anything starts. */
    private record DemoData(List<ItemEmbedding> items, Iterator<? extends SpecificRecord> events, String description) {}

    LocalStack(LaunchOptions options) {
        this.options = options;
        this.config = options.config();
        this.topicPrefix = config.get(CommonOptions.TOPIC_PREFIX);
    }

    public static void main(String[] args) {
        LocalStack stack;
        DemoData demo;
        try {
            stack = new LocalStack(LaunchOptions.parse(args));
            stack.plan();
            demo = stack.demoData();
        } catch (LaunchOptions.HelpRequested help) {
            System.out.print(help.getMessage());
            return;
        } catch (LaunchOptions.UsageError e) {
            System.err.println("run-local: " + e.getMessage() + " (bin/run-local --help lists the options)");
            System.exit(USAGE);
            return;
        } catch (Exception e) {
            System.err.println("run-local: " + oneLine(e));
            System.exit(1);
            return;
        }
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            say("shutting down...");
            stack.close();
            say("stopped.");
        }, "local-stack-shutdown"));
        int status;
        try {
            status = stack.run(demo);
        } catch (Exception e) {
            say("local stack failed: " + oneLine(e));
            status = 1;
        }
        System.exit(status);
    }

    /** An exception and its causes on one line: the user gets the reason, not a stack trace. */
    static String oneLine(Throwable e) {
        StringBuilder sb = new StringBuilder();
        for (Throwable t = e; t != null && sb.length() < 500; t = t.getCause() == t ? null : t.getCause()) {
            String m = t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage().lines().findFirst().orElse("");
            if (sb.indexOf(m) < 0) {
                sb.append(sb.length() == 0 ? "" : ": ").append(m);
            }
        }
        return sb.toString();
    }

    /** The configured port, or a free one when it is 0 (the clients must know the real port). */
    private int portOrFree(Option port) {
        return config.getInt(port) == 0 ? EmbeddedKafkaBroker.freePort() : config.getInt(port);
    }

    /**
     * Finds the jobs in the job jars and checks each one's arguments by building its graph on a throwaway
     * environment (nothing runs): an unknown job name or option fails here, before the broker starts; the graph also
     * tells which topics the job reads.
     */
    void plan() throws IOException {
        Map<String, PlannedJob> found = new LinkedHashMap<>();
        for (Path jar : jobJars()) {
            URLClassLoader loader = new URLClassLoader(new URL[] {jar.toUri().toURL()}, LocalStack.class.getClassLoader());
            for (PipelineJob job : ServiceLoader.load(PipelineJob.class, loader)) {
                found.putIfAbsent(job.name(), new PlannedJob(job, jar, loader, Set.of()));
            }
        }
        if (found.isEmpty()) {
            throw new IllegalStateException("no job jar found (*/target/*-job.jar): build them with "
                    + "'mvn -DskipTests package -pl feature-job,index-job -am', or run bin/run-local without SKIP_BUILD");
        }
        Map<String, LaunchOptions.JobPassThrough> passThrough = options.passThrough(found.keySet());
        for (PlannedJob p : found.values()) {
            String placeholderBootstrap = "localhost:" + Math.max(1, config.getInt(LaunchOptions.KAFKA_PORT));
            JobConfig jobConfig = parseJobConfig(p.job(), jobArgs(p.job().name(), placeholderBootstrap, passThrough));
            StreamExecutionEnvironment env = StreamExecutionEnvironment.createLocalEnvironment();
            try {
                withContextLoader(p.loader(), () -> {
                    JobSetup.configure(env, jobConfig);
                    p.job().define(env, jobConfig);
                    return null;
                });
            } catch (Exception e) {
                throw new LaunchOptions.UsageError(p.job().name() + ": " + oneLine(e));
            }
            planned.add(new PlannedJob(p.job(), p.jar(), p.loader(), topicsRead(env)));
        }
    }

    private static JobConfig parseJobConfig(PipelineJob job, List<String> args) {
        try {
            return job.parseConfig(args.toArray(new String[0]));
        } catch (IllegalArgumentException e) {
            // The job's own "--help lists them" would point at the job's command line, not the launcher's.
            throw new LaunchOptions.UsageError(job.name() + ": " + oneLine(e).replace("; --help lists them", ""));
        }
    }

    /**
     * The arguments the stack gives a job: its broker and topic prefix, the stack's defaults (parallelism,
     * checkpoints, read from the start, for a replay no past-skew limit) and the user's pass-through options on top.
     */
    List<String> jobArgs(String jobName, String bootstrap, Map<String, LaunchOptions.JobPassThrough> passThrough) {
        Map<String, String> defaults = new LinkedHashMap<>();
        defaults.put(CommonOptions.PARALLELISM.key(), "2");
        defaults.put(CommonOptions.CHECKPOINT_INTERVAL_MS.key(), "2000");
        defaults.put(CommonOptions.STARTING_OFFSETS.key(), "earliest");
        if (!config.get(LaunchOptions.MOVIELENS).isBlank()) {
            // A replay of 1996-2018 history: event time is decades behind the wall clock, by design.
            defaults.put(CommonOptions.MAX_PAST_SKEW_MS.key(), String.valueOf(Long.MAX_VALUE / 4));
        }
        if (jobName.equals(JOINER_JOB)) {
            // A demo shows examples within minutes: a one-minute join window (production default: one hour).
            defaults.put("joiner.window.ms", "60000");
            defaults.put("joiner.allowed-lateness.ms", "300000");
        }
        Map<String, String> owned = Map.of(CommonOptions.BOOTSTRAP_SERVERS.key(), bootstrap,
                CommonOptions.TOPIC_PREFIX.key(), topicPrefix);
        return LaunchOptions.jobArgs(defaults, new TreeMap<>(owned), passThrough.get(jobName));
    }

    /** The topics a job's graph reads: its sources, which {@code JobGraph.read} names after the topic's base name. */
    static Set<Topic> topicsRead(StreamExecutionEnvironment env) {
        Set<Topic> read = EnumSet.noneOf(Topic.class);
        for (Transformation<?> t : env.getTransformations()) {
            for (Transformation<?> p : t.getTransitivePredecessors()) {
                if (p instanceof SourceTransformation) {
                    Arrays.stream(Topic.values()).filter(topic -> topic.baseName().equals(p.getName())).forEach(read::add);
                }
            }
        }
        return read;
    }

    /** True when a planned job reads impressions: only then are generated impressions worth producing. */
    boolean impressionsRead() {
        return planned.stream().anyMatch(p -> p.reads().contains(Topic.IMPRESSIONS));
    }

    List<PlannedJob> planned() {
        return planned;
    }

    /** The demo data, or null with --no-demo; a MovieLens directory is read here, so a bad file stops the start. */
    private DemoData demoData() {
        if (config.getBoolean(LaunchOptions.NO_DEMO)) {
            return null;
        }
        String movielens = config.get(LaunchOptions.MOVIELENS);
        if (!movielens.isBlank()) {
            MovieLensReplay replay;
            try {
                replay = MovieLensReplay.load(Path.of(movielens), MovieLensReplay.DEFAULT_MODEL_VERSION);
            } catch (RuntimeException e) {
                throw new LaunchOptions.UsageError("--movielens " + movielens + ": " + oneLine(e));
            }
            return new DemoData(replay.items(), replay.actions().iterator(), "MovieLens: " + replay.items().size()
                    + " movies (ids m<movieId>), " + replay.actions().size() + " ratings to replay (users u<userId>)");
        }
        DemoDataGenerator generator = new DemoDataGenerator(DemoDataGenerator.Config.builder()
                .seed(config.getLong(LaunchOptions.SEED)).users(config.getInt(LaunchOptions.USERS))
                .items(config.getInt(LaunchOptions.ITEMS)).wallClock(true).build());
        return new DemoData(generator.items(), generator.events(), "generator: " + config.getInt(LaunchOptions.USERS)
                + " users (u0...), " + generator.items().size() + " items (i0...)");
    }

    int run(DemoData demo) throws Exception {
        workDir = Files.createTempDirectory("streamrec-local-");
        say("starting Kafka broker (Apache Kafka 4.2, KRaft)...");
        broker = EmbeddedKafkaBroker.builder().port(config.getInt(LaunchOptions.KAFKA_PORT)).fastStartup(false).start();
        String bootstrap = broker.bootstrapServers();
        List<String> topics = TopicAdmin.createPipelineTopics(bootstrap, topicPrefix, config.getInt(LaunchOptions.PARTITIONS));
        say("broker at " + bootstrap + ", topics: " + String.join(", ", topics));

        say("starting Flink (MiniCluster, RocksDB, queryable state)...");
        int restPort = portOrFree(LaunchOptions.REST_PORT);
        int proxyPort = portOrFree(LaunchOptions.PROXY_PORT);
        int serverPort = portOrFree(LaunchOptions.SERVER_PORT);
        Configuration conf = LocalFlinkCluster.configuration(workDir, 8, restPort, proxyPort, serverPort,
                MemorySize.parse("512m"));
        // The launcher's own class path already holds the kit, Avro and the Kafka client that job jars bundle (a real
        // cluster's lib/ does not): parent-first keeps one copy of each in this JVM.
        conf.setString("classloader.resolve-order", "parent-first");
        // The status line reads the jobs' counters through REST: fetch them more often than the 10 s default.
        conf.setString("metrics.fetcher.update-interval", "2000");
        cluster = LocalFlinkCluster.start(conf);
        restPort = LocalFlinkCluster.restPort(cluster);
        String restUrl = "http://" + LocalFlinkCluster.HOST + ":" + restPort;
        say("Flink web UI and REST at " + restUrl);
        recallClient = RecallClient.builder().rest(restUrl)
                .proxy(LocalFlinkCluster.HOST, proxyPort).timeout(Duration.ofSeconds(2)).build();
        decoderReads = new DecoderReads(new FlinkRestClient(restUrl, Duration.ofSeconds(2)));
        say("queryable state proxy at " + LocalFlinkCluster.HOST + ":" + proxyPort + " (state server port " + serverPort + ")");

        Map<String, LaunchOptions.JobPassThrough> passThrough = options.passThrough(
                planned.stream().map(p -> p.job().name()).collect(Collectors.toList()));
        for (PlannedJob p : planned) {
            submit(p, jobArgs(p.job().name(), bootstrap, passThrough), conf, restPort);
        }

        if (demo == null) {
            say("--no-demo: no data produced; write to the topics above (prefix '" + topicPrefix + "')");
        } else {
            producerThread = new Thread(() -> produce(bootstrap, demo), "demo-producer");
            producerThread.setDaemon(true);
            producerThread.start();
            if (jobs.containsKey(QueryTarget.DEDUP_JOB) && config.getInt(LaunchOptions.RATE) > 0) {
                Thread feed = new Thread(() -> showPages(bootstrap), "demo-feed");
                feed.setDaemon(true);
                feed.start();
            }
        }
        return report(bootstrap);
    }

    private List<Path> jobJars() throws IOException {
        if (!config.get(LaunchOptions.JOB_JARS).isBlank()) {
            return config.getList(LaunchOptions.JOB_JARS).stream().map(Path::of).collect(Collectors.toList());
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

    /** Submits a planned job, shipping its jar to the cluster as `flink run` would. */
    private void submit(PlannedJob p, List<String> args, Configuration clusterConf, int restPort) throws Exception {
        JobConfig jobConfig = parseJobConfig(p.job(), args);
        StreamExecutionEnvironment env = StreamExecutionEnvironment.createRemoteEnvironment(
                LocalFlinkCluster.HOST, restPort, clusterConf, p.jar().toAbsolutePath().toString());
        JobClient client = withContextLoader(p.loader(), () -> JobSetup.submit(p.job(), env, jobConfig));
        jobs.put(p.job().name(), client.getJobID());
        say("submitted " + p.job().name() + " from " + p.jar().getFileName() + " as job " + client.getJobID()
                + " (reads " + p.reads().stream().map(t -> t.name(topicPrefix)).collect(Collectors.joining(", ")) + ")");
    }

    /** Flink resolves lambdas and types through the context class loader, as `flink run` sets it to the job jar's. */
    private static <T> T withContextLoader(ClassLoader loader, Callable<T> action) throws Exception {
        ClassLoader previous = Thread.currentThread().getContextClassLoader();
        Thread.currentThread().setContextClassLoader(loader);
        try {
            return action.call();
        } finally {
            Thread.currentThread().setContextClassLoader(previous);
        }
    }

    private void produce(String bootstrap, DemoData demo) {
        boolean impressions = impressionsRead();
        int rate = config.getInt(LaunchOptions.RATE);
        say(demo.description() + (rate == 0 ? "; --rate 0: no events, items only"
                : impressions ? "" : "; impressions not produced (no submitted job reads them)"));
        try (KafkaProducer<String, byte[]> producer = KafkaTestIO.producer(bootstrap)) {
            // Kafka timestamps are the time of production: a replay's event times (years back) stay in the records,
            // where the jobs read them; as Kafka timestamps, retention would delete them at once.
            for (ItemEmbedding item : demo.items()) {
                send(producer, Topic.ITEM_EMBEDDINGS, item.getItemId(), item);
            }
            producer.flush();
            say("produced " + demo.items().size() + " item embeddings");
            if (rate == 0) {
                return;
            }
            RateLimiter limiter = new RateLimiter(rate);
            Iterator<? extends SpecificRecord> events = demo.events();
            while (running.get() && failure.get() == null && events.hasNext()) {
                SpecificRecord event = events.next();
                if (event instanceof UserAction a) {
                    limiter.acquire();
                    send(producer, Topic.USER_ACTIONS, a.getUserId(), a);
                } else if (event instanceof Impression i && impressions) {
                    limiter.acquire();
                    send(producer, Topic.IMPRESSIONS, i.getUserId(), i);
                } else {
                    continue;
                }
                produced.incrementAndGet();
            }
            if (running.get() && !events.hasNext()) {
                say("input exhausted: all events produced");
            }
        } catch (Exception e) {
            if (running.get()) {
                fail("demo producer failed: " + oneLine(e));
            }
        }
    }

    /**
     * The demo's feed server: every second the users the status shows are shown a page of their fresh recall (the
     * answer of {@link RecallClient#feedRecall}), one impression per item, so their fresh recall shrinks page by page
     * and refills when it runs short.
     */
    private void showPages(String bootstrap) {
        FeedPages pages = new FeedPages();
        try (KafkaProducer<String, byte[]> producer = KafkaTestIO.producer(bootstrap)) {
            while (running.get() && failure.get() == null) {
                sleepQuietly(FEED_EVERY_MS);
                for (String user : featuredUsers()) {
                    FeedRecall feed = recallClient.feedRecall(user);
                    if (!feed.found()) {
                        continue;
                    }
                    List<Impression> page = pages.page(feed.result(), FeedPages.PAGE_SIZE, System.currentTimeMillis());
                    for (Impression i : page) {
                        send(producer, Topic.IMPRESSIONS, i.getUserId(), i);
                        shown.incrementAndGet();
                    }
                    for (UserAction click : pages.clicks(page)) {
                        send(producer, Topic.USER_ACTIONS, click.getUserId(), click);
                        clicked.incrementAndGet();
                    }
                }
            }
        } catch (Exception e) {
            if (running.get()) {
                fail("demo feed failed: " + oneLine(e));
            }
        }
    }

    /** The users the status shows (and the demo feed shows pages to): the three with the most feature updates. */
    private List<String> featuredUsers() {
        return activity.entrySet().stream().sorted(Map.Entry.<String, Long>comparingByValue().reversed())
                .limit(3).map(Map.Entry::getKey).collect(Collectors.toList());
    }

    /** Stops the stack with a non-zero exit: the report loop ends and prints the reason. */
    private void fail(String reason) {
        failure.compareAndSet(null, reason);
    }

    private <T extends SpecificRecordBase> void send(KafkaProducer<String, byte[]> producer, Topic topic, String key, T value) {
        producer.send(new ProducerRecord<>(config.topic(topic), null, System.currentTimeMillis(), key, KafkaTestIO.encode(value)),
                (metadata, e) -> {
                    if (e != null && running.get()) {
                        fail("demo producer failed to write " + config.topic(topic) + ": " + oneLine(e));
                    }
                });
    }

    /**
     * Prints progress until the duration ends, Ctrl-C, or a failure: counts per output topic and a few users read
     * through queryable state. Returns the exit status.
     */
    private int report(String bootstrap) {
        long end = config.getLong(LaunchOptions.DURATION_S) == 0 ? Long.MAX_VALUE
                : System.nanoTime() + TimeUnit.SECONDS.toNanos(config.getLong(LaunchOptions.DURATION_S));
        Map<String, Long> counts = new TreeMap<>();
        Properties props = KafkaTestIO.consumerProperties(bootstrap);
        props.setProperty("group.id", topicPrefix + "local-stack-monitor");
        props.setProperty("auto.offset.reset", "earliest");
        String featuresTopic = config.topic(Topic.USER_FEATURES);
        String examplesTopic = config.topic(Topic.TRAINING_EXAMPLES);
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(props, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            consumer.subscribe(Stream.of(Topic.USER_FEATURES, Topic.DEAD_LETTERS, Topic.RECALL, Topic.FRESH_RECALL,
                    Topic.RECALL_REFILLS, Topic.TRAINING_EXAMPLES).map(config::topic).collect(Collectors.toList()));
            long nextPrint = System.nanoTime();
            while (running.get() && System.nanoTime() < end && failure.get() == null) {
                ConsumerRecords<byte[], byte[]> records = consumer.poll(Duration.ofMillis(200));
                for (ConsumerRecord<byte[], byte[]> r : records) {
                    counts.merge(r.topic(), 1L, Long::sum);
                    if (r.topic().equals(featuresTopic) && r.key() != null) {
                        activity.merge(new String(r.key(), StandardCharsets.UTF_8), 1L, Long::sum);
                    }
                    if (r.topic().equals(examplesTopic) && r.value() != null) {
                        examples.incrementAndGet();
                        if (KafkaTestIO.decode(TrainingExample.class, r.value()).getLabel() == 1) {
                            positiveExamples.incrementAndGet();
                        }
                    }
                }
                if (System.nanoTime() >= nextPrint) {
                    printStatus(counts);
                    nextPrint = System.nanoTime() + TimeUnit.SECONDS.toNanos(config.getLong(LaunchOptions.PRINT_EVERY_S));
                }
            }
        }
        if (failure.get() != null) {
            say("stopping: " + failure.get());
            return 1;
        }
        if (System.nanoTime() >= end) {
            say("duration reached");
        }
        return 0;
    }

    private void printStatus(Map<String, Long> counts) {
        long read = decoderReads.total(jobs.values());
        StringBuilder sb = new StringBuilder("events in: ").append(read < 0 ? "n/a" : String.format("%,d", read));
        if (producerThread != null) {
            sb.append(String.format(" | produced: %,d", produced.get()));
            if (shown.get() > 0) {
                sb.append(String.format(" (+%,d feed impressions, %,d clicks on them)", shown.get(), clicked.get()));
            }
        }
        sb.append(" | out: ").append(counts.isEmpty() ? "none yet" : counts.entrySet().stream()
                .map(e -> e.getKey() + "=" + String.format("%,d", e.getValue())).collect(Collectors.joining(", ")));
        say(sb.toString());
        if (examples.get() > 0) {
            say(String.format("  training examples (read_committed): %,d emitted, positive share %.1f%% (after sampling negatives)",
                    examples.get(), 100.0 * positiveExamples.get() / examples.get()));
        }
        boolean features = jobs.containsKey(QueryTarget.FEATURE_JOB);
        boolean recall = jobs.containsKey(QueryTarget.INDEX_JOB);
        if (!features && !recall) {
            return;
        }
        boolean dedup = jobs.containsKey(QueryTarget.DEDUP_JOB);
        for (String user : featuredUsers()) {
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
            if (dedup) {
                say("    " + describeFresh(recallClient.feedRecall(user), recallClient.seen(user)));
            }
        }
    }

    /** The user's fresh recall as the feed reads it, and their seen set: shrinking on impressions, refilled when short. */
    static String describeFresh(FeedRecall feed, Lookup<SeenSet> seen) {
        if (!feed.found()) {
            return feed.fresh().outcome() == Lookup.Outcome.DEADLINE_PASSED ? notQueryable(feed.fresh()) : "no fresh recall yet";
        }
        String seenText = seen.found() ? SeenTracker.read(seen.value()).size() + " items seen" : "nothing seen yet";
        return String.format("fresh recall (%s): %d unseen candidates, %s, computed %s: %s",
                feed.source() == FeedRecall.Source.FRESH_RECALL ? "queryable state" : "latest recall filtered by seen",
                feed.result().getCandidates().size(), seenText,
                ServingText.ago(feed.computedAt(), System.currentTimeMillis()),
                ServingText.recallSummary(feed.result(), 3, System.currentTimeMillis()).replaceFirst("^.*?: ", ""));
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
        return String.format("user %s (queryable state, seq %d, updated %s): recent [%s] | top categories [%s] | vectors %s",
                user, f.getUpdateSeq(), ServingText.ago(f.getUpdatedAt(), System.currentTimeMillis()), triggers, prefs, vectors);
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
        if (workDir != null) {
            TempDirs.deleteRecursively(workDir);
        }
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

    /** A line with the wall-clock time, always with seconds (HH:mm:ss). */
    static void say(String line) {
        BenchStack.say(line);
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
