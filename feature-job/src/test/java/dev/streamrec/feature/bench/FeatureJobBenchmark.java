package dev.streamrec.feature.bench;

import static dev.streamrec.local.bench.BenchStack.say;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadInfo;
import java.lang.management.ThreadMXBean;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.stream.Collectors;

import org.apache.flink.api.common.JobID;
import org.apache.flink.configuration.MemorySize;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;

import dev.streamrec.avro.ItemEmbedding;
import dev.streamrec.avro.Trigger;
import dev.streamrec.avro.UserAction;
import dev.streamrec.avro.UserFeatures;
import dev.streamrec.client.QueryableStateReader;
import dev.streamrec.feature.FeatureJob;
import dev.streamrec.jobs.JobSetup;
import dev.streamrec.jobs.config.JobConfig;
import dev.streamrec.jobs.config.Option;
import dev.streamrec.local.bench.BenchReport;
import dev.streamrec.local.bench.BenchStack;
import dev.streamrec.local.demo.DemoDataGenerator;
import dev.streamrec.schemas.QueryableStates;
import dev.streamrec.schemas.Topic;
import dev.streamrec.testkit.KafkaTestIO;
import dev.streamrec.testkit.LocalFlinkCluster;
import dev.streamrec.testkit.TopicAdmin;

/**
 * Benchmark (not a test) of the feature-job on the local stack: a real Kafka broker (child JVM, C2), a MiniCluster
 * configured by {@link LocalFlinkCluster} (RocksDB, queryable state), the job at parallelism 2 with the exactly-once
 * sink. Run it with {@code bin/bench-feature-job [--key value ...]} ({@code --help} lists the options).
 *
 * <p><b>Throughput.</b> Items are produced and ingested first (the job is started, then {@code awaitCommittedToEnd}
 * on item-embeddings), so no action is ever held waiting for its embedding. Then {@code user-actions} is loaded with
 * a backlog of synthetic-time actions (non-decreasing event time) while the job already runs; the measurement starts
 * once the producer has finished (so it does not compete for the two cores) plus a settle time, and samples the
 * sum over partitions of the job's committed offsets on user-actions every second. The Kafka source commits at each
 * completed checkpoint, i.e. when the actions up to that offset are in the checkpoint and their user-features
 * transaction is committed: the slope (least squares) of committed offsets over the window is the end-to-end
 * throughput. The window stops before the backlog runs out; if it would be shorter than the minimum, another batch
 * is produced and the window starts again.
 *
 * <p><b>Freshness.</b> A second job (fresh topics, fresh state) at a paced offered load with wall-clock event
 * times. For 1 in N actions the time is taken just before {@code producer.send}; a small pool of threads polls the
 * user's queryable state every few ms until the user's {@code triggers} contain that action (same itemId, action and
 * eventTime). Latency = end of the first lookup that sees it (an upper bound, within one poll interval plus a lookup
 * round trip; the interval is {@code freshness.poll.ms}, growing to 5% of the sample's age for slow samples so the
 * pollers' load stays bounded). Freshness runs after the throughput part in the same JVM, so the code is JIT-warm. A very active user may get more than {@code features.max-triggers} newer actions before a poll sees
 * the sampled one; then the sample counts as visible when {@code updateSeq} reaches the number of that user's actions
 * sent up to and including it (counted separately in the output).
 */
public final class FeatureJobBenchmark implements BenchStack.Benchmark {
    static final Option PARTITIONS = Option.of("partitions", 2, "Partitions per topic.");
    static final Option PARALLELISM = Option.of("job.parallelism", 2, "feature-job parallelism.");
    static final Option CHECKPOINT_MS = Option.of("job.checkpoint.interval.ms", 2000, "feature-job checkpoint interval.");
    static final Option SLOTS = Option.of("slots", 4, "Task slots of the MiniCluster.");
    static final Option MANAGED_MEMORY = Option.of("managed.memory", "512m", "Managed memory (RocksDB) of the MiniCluster.");
    static final Option USERS = Option.of("users", 100000, "Generator: users.");
    static final Option ITEMS = Option.of("items", 5000, "Generator: items.");
    static final Option SEED = Option.of("seed", 42, "Generator: seed.");
    static final Option TP_ACTIONS = Option.of("throughput.actions", 5000000, "Throughput: actions in the first backlog batch (each further batch doubles it).");
    static final Option TP_SETTLE_S = Option.of("throughput.settle.s", 10, "Throughput: seconds after the backlog is loaded before the window starts (warm-up).");
    static final Option TP_WINDOW_S = Option.of("throughput.window.s", 60, "Throughput: minimum measurement window.");
    static final Option TP_MAX_WINDOW_S = Option.of("throughput.max-window.s", 75, "Throughput: the window ends after this long even if backlog is left.");
    static final Option PRODUCER_BATCH = Option.of("producer.batch.size", 262144, "Backlog producer batch.size.");
    static final Option PRODUCER_LINGER = Option.of("producer.linger.ms", 20, "Backlog producer linger.ms.");
    static final Option PRODUCER_COMPRESSION = Option.of("producer.compression", "none", "Backlog producer compression.type.");
    static final Option FRESH_RATE = Option.of("freshness.rate", 5000, "Freshness: offered load, actions/s.");
    static final Option FRESH_SECONDS = Option.of("freshness.seconds", 70, "Freshness: load duration.");
    static final Option FRESH_DISCARD_S = Option.of("freshness.discard.s", 10, "Freshness: samples sent in the first seconds are discarded.");
    static final Option FRESH_SAMPLE_EVERY = Option.of("freshness.sample-every", 50, "Freshness: sample 1 in N actions.");
    static final Option FRESH_POLL_MS = Option.of("freshness.poll.ms", 10, "Freshness: poll interval per sample.");
    static final Option FRESH_THREADS = Option.of("freshness.threads", 4, "Freshness: polling threads.");
    static final Option SKIP_THROUGHPUT = Option.of("skip.throughput", false, "Only run the freshness part.");
    static final Option SKIP_FRESHNESS = Option.of("skip.freshness", false, "Only run the throughput part.");
    static final Option WRITE_DOCS = Option.of("write.docs", true, "Write docs/bench/feature-job.json and the docs/benchmarks.md section.");
    static final Option DOCS_DIR = Option.of("docs.dir", "docs", "Where the docs are.");
    static final List<Option> OPTIONS = List.of(PARTITIONS, PARALLELISM, CHECKPOINT_MS, SLOTS, MANAGED_MEMORY, USERS, ITEMS,
            SEED, TP_ACTIONS, TP_SETTLE_S, TP_WINDOW_S, TP_MAX_WINDOW_S, PRODUCER_BATCH, PRODUCER_LINGER,
            PRODUCER_COMPRESSION, FRESH_RATE, FRESH_SECONDS, FRESH_DISCARD_S, FRESH_SAMPLE_EVERY, FRESH_POLL_MS,
            FRESH_THREADS, SKIP_THROUGHPUT, SKIP_FRESHNESS, WRITE_DOCS, DOCS_DIR);

    private final JobConfig cfg;
    private final Map<String, Object> results = new LinkedHashMap<>();
    private final long t0 = System.nanoTime();
    private BenchStack stack;

    private FeatureJobBenchmark(JobConfig cfg) {
        this.cfg = cfg;
    }

    public static void main(String[] args) {
        BenchStack.main("feature-job-benchmark", OPTIONS, args, FeatureJobBenchmark::new);
    }

    // ------------------------------------------------------------------ setup

    @Override
    public void run() throws Exception {
        Map<String, Object> machine = BenchReport.machine();
        results.put("machine", machine);
        say("machine: " + machine);
        say("parameters: " + cfg);

        stack = BenchStack.start("feature-bench", cfg.getInt(SLOTS), MemorySize.parse(cfg.get(MANAGED_MEMORY)));

        Map<String, Object> params = new LinkedHashMap<>();
        params.put("parallelism", cfg.getInt(PARALLELISM));
        params.put("partitions", cfg.getInt(PARTITIONS));
        params.put("checkpoint_interval_ms", cfg.getLong(CHECKPOINT_MS));
        params.put("sink", "exactly-once");
        params.put("state_backend", "rocksdb (incremental)");
        params.put("users", cfg.getInt(USERS));
        params.put("items", cfg.getInt(ITEMS));
        results.put("parameters", params);

        if (!cfg.getBoolean(SKIP_THROUGHPUT)) {
            throughput();
        }
        if (!cfg.getBoolean(SKIP_FRESHNESS)) {
            freshness();
        }
        printSummary();
        if (cfg.getBoolean(WRITE_DOCS) && !cfg.getBoolean(SKIP_THROUGHPUT) && !cfg.getBoolean(SKIP_FRESHNESS)) {
            BenchDocs.write(Path.of(cfg.get(DOCS_DIR)), results, System.getProperty("bench.command",
                    "bin/bench-feature-job"));
        }
    }

    private JobClient startJob(String prefix, String... extra) throws Exception {
        List<String> args = new ArrayList<>(List.of("--bootstrap.servers", stack.bootstrapServers(),
                "--topic.prefix", prefix, "--parallelism", cfg.get(PARALLELISM),
                "--checkpoint.interval.ms", cfg.get(CHECKPOINT_MS), "--source.starting-offsets", "earliest"));
        args.addAll(List.of(extra));
        FeatureJob job = new FeatureJob();
        JobConfig jobConfig = job.parseConfig(args.toArray(new String[0]));
        StreamExecutionEnvironment env = StreamExecutionEnvironment.createRemoteEnvironment(LocalFlinkCluster.HOST,
                stack.restPort(), stack.flinkConfiguration());
        JobClient client = JobSetup.submit(job, env, jobConfig);
        say("submitted feature-job " + client.getJobID() + " (" + String.join(" ", args) + ")");
        return client;
    }

    private void produceItems(String prefix, List<ItemEmbedding> items) throws Exception {
        try (KafkaProducer<String, byte[]> p = KafkaTestIO.producer(stack.bootstrapServers())) {
            for (ItemEmbedding item : items) {
                p.send(new ProducerRecord<>(Topic.ITEM_EMBEDDINGS.name(prefix), null, System.currentTimeMillis(),
                        item.getItemId(), KafkaTestIO.encode(item)));
            }
            p.flush();
        }
    }

    private void awaitItems(String prefix) throws Exception {
        long t = System.nanoTime();
        if (!TopicAdmin.awaitCommittedToEnd(stack.bootstrapServers(), prefix + FeatureJob.NAME,
                Topic.ITEM_EMBEDDINGS.name(prefix), Duration.ofMinutes(3))) {
            throw new IllegalStateException("items not ingested within 3 minutes");
        }
        say("items ingested (committed to end) after " + ms(System.nanoTime() - t) + " ms");
    }

    // ------------------------------------------------------------------ throughput

    private void throughput() throws Exception {
        String prefix = "tp-";
        String bootstrap = stack.bootstrapServers();
        TopicAdmin.createPipelineTopics(bootstrap, prefix, cfg.getInt(PARTITIONS));
        DemoDataGenerator gen = new DemoDataGenerator(DemoDataGenerator.Config.builder().seed(cfg.getLong(SEED))
                .users(cfg.getInt(USERS)).items(cfg.getInt(ITEMS)).build());
        produceItems(prefix, gen.items());
        // Synthetic event time spans hours: keep the past-skew check from dead-lettering anything.
        JobClient job = startJob(prefix, "--input.max-past-skew.ms", String.valueOf(Long.MAX_VALUE / 4));
        awaitItems(prefix);

        String topic = Topic.USER_ACTIONS.name(prefix);
        String group = prefix + FeatureJob.NAME;
        Iterator<UserAction> actions = gen.actions(Long.MAX_VALUE);
        long batch = cfg.getLong(TP_ACTIONS);
        CpuProfile profile = null;
        FlinkRest rest = null;
        List<double[]> window = null;
        long produced = 0;
        Map<String, Object> production = new LinkedHashMap<>();
        try (Admin admin = TopicAdmin.admin(bootstrap)) {
            List<TopicPartition> tps = new ArrayList<>();
            for (int p = 0; p < cfg.getInt(PARTITIONS); p++) {
                tps.add(new TopicPartition(topic, p));
            }
            for (int attempt = 1; attempt <= 3; attempt++) {
                long t = System.nanoTime();
                long n = produceBacklog(topic, actions, batch);
                produced += n;
                double secs = (System.nanoTime() - t) / 1e9;
                long committedNow = BenchReport.committed(admin, group, tps);
                say(String.format(Locale.ROOT, "backlog batch %d: produced %,d actions in %.1f s (%,.0f/s, job running "
                        + "meanwhile); committed so far %,d, backlog %,d", attempt, n, secs, n / secs, committedNow,
                        produced - committedNow));
                production.put("batch_" + attempt + "_actions", n);
                production.put("batch_" + attempt + "_producer_actions_per_s", round(n / secs, 0));
                say("settling " + cfg.getLong(TP_SETTLE_S) + " s...");
                Thread.sleep(cfg.getLong(TP_SETTLE_S) * 1000);

                profile = CpuProfile.start();
                rest = new FlinkRest(LocalFlinkCluster.HOST, stack.restPort(), job.getJobID().toString());
                window = new ArrayList<>();
                long start = System.nanoTime();
                long next = start;
                boolean drained = false;
                long max = cfg.getLong(TP_MAX_WINDOW_S) * 1_000_000_000L;
                while (System.nanoTime() - start <= max) {
                    long c = BenchReport.committed(admin, group, tps);
                    double at = (System.nanoTime() - start) / 1e9;
                    if (c >= produced) {
                        drained = true; // the last sample would include the idle tail: stop before it
                        break;
                    }
                    window.add(new double[] {at, c});
                    if (window.size() % 5 == 3) {
                        rest.sample();
                    }
                    if (window.size() % 10 == 1) {
                        say(String.format(Locale.ROOT, "  t=%5.1f s committed %,d (backlog %,d)", at, c, produced - c));
                    }
                    next += 1_000_000_000L;
                    LockSupport.parkNanos(Math.max(0, next - System.nanoTime()));
                }
                profile.stop();
                double length = window.isEmpty() ? 0 : window.get(window.size() - 1)[0] - window.get(0)[0];
                if (length >= cfg.getLong(TP_WINDOW_S)) {
                    break;
                }
                say(String.format(Locale.ROOT, "window only %.1f s (%s): producing another batch", length,
                        drained ? "backlog drained" : "?"));
                batch *= 2; // the job drained the last one too fast for a full window
                window = null;
            }
        }
        if (window == null) {
            throw new IllegalStateException("no throughput window of " + cfg.getLong(TP_WINDOW_S) + " s");
        }
        double[] fit = BenchReport.slope(window);
        double length = window.get(window.size() - 1)[0] - window.get(0)[0];
        double simple = (window.get(window.size() - 1)[1] - window.get(0)[1]) / length;
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("actions_per_s", round(fit[0], 0));
        r.put("actions_per_s_endpoints", round(simple, 0));
        r.put("r2", round(fit[1], 4));
        r.put("window_s", round(length, 1));
        r.put("settle_s", cfg.getLong(TP_SETTLE_S));
        r.put("samples", window.size());
        r.put("actions_in_window", (long) (window.get(window.size() - 1)[1] - window.get(0)[1]));
        r.put("per_10s_rates", per10s(window));
        r.put("production", production);
        r.put("cpu", profile.summary(length));
        r.put("vertex_ms_per_s", rest.vertexTimes());
        r.put("checkpoints", rest.checkpoints());
        results.put("throughput", r);
        say("throughput: " + r);
        job.cancel().get(60, TimeUnit.SECONDS);
        say("throughput job cancelled");
    }

    private long produceBacklog(String topic, Iterator<UserAction> actions, long n) {
        Map<String, Object> overrides = Map.of(ProducerConfig.BATCH_SIZE_CONFIG, cfg.get(PRODUCER_BATCH),
                ProducerConfig.LINGER_MS_CONFIG, cfg.get(PRODUCER_LINGER),
                ProducerConfig.COMPRESSION_TYPE_CONFIG, cfg.get(PRODUCER_COMPRESSION),
                ProducerConfig.BUFFER_MEMORY_CONFIG, String.valueOf(128L << 20));
        long sent = 0;
        try (KafkaProducer<String, byte[]> p = KafkaTestIO.producer(stack.bootstrapServers(), overrides)) {
            while (sent < n && actions.hasNext()) {
                UserAction a = actions.next();
                // Kafka timestamp = now: synthetic event times (2024) as Kafka timestamps would fall to the topic's 7-day retention.
                p.send(new ProducerRecord<>(topic, null, System.currentTimeMillis(), a.getUserId(), KafkaTestIO.encode(a)));
                sent++;
            }
            p.flush();
        }
        return sent;
    }

    private static long endOffsets(Admin admin, List<TopicPartition> tps) throws Exception {
        Map<TopicPartition, OffsetSpec> req = new HashMap<>();
        tps.forEach(tp -> req.put(tp, OffsetSpec.latest()));
        return admin.listOffsets(req).all().get(30, TimeUnit.SECONDS).values().stream().mapToLong(i -> i.offset()).sum();
    }

    private static List<Long> per10s(List<double[]> window) {
        List<Long> out = new ArrayList<>();
        double[] first = window.get(0);
        double[] prev = first;
        for (double[] p : window) {
            if (p[0] - prev[0] >= 10) {
                out.add(Math.round((p[1] - prev[1]) / (p[0] - prev[0])));
                prev = p;
            }
        }
        return out;
    }

    // ------------------------------------------------------------------ freshness

    private record Sample(String userId, String itemId, String action, long eventTime, long sentNanos, long userSeq,
                          boolean measured) {}

    private void freshness() throws Exception {
        String prefix = "fresh-";
        String bootstrap = stack.bootstrapServers();
        TopicAdmin.createPipelineTopics(bootstrap, prefix, cfg.getInt(PARTITIONS));
        DemoDataGenerator gen = new DemoDataGenerator(DemoDataGenerator.Config.builder().seed(cfg.getLong(SEED) + 1)
                .users(cfg.getInt(USERS)).items(cfg.getInt(ITEMS)).wallClock(true).build());
        produceItems(prefix, gen.items());
        JobClient job = startJob(prefix);
        JobID jobId = job.getJobID();
        awaitItems(prefix);

        String topic = Topic.USER_ACTIONS.name(prefix);
        String group = prefix + FeatureJob.NAME;
        List<TopicPartition> tps = new ArrayList<>();
        for (int p = 0; p < cfg.getInt(PARTITIONS); p++) {
            tps.add(new TopicPartition(topic, p));
        }
        int rate = cfg.getInt(FRESH_RATE);
        long loadNanos = cfg.getLong(FRESH_SECONDS) * 1_000_000_000L;
        long discardNanos = cfg.getLong(FRESH_DISCARD_S) * 1_000_000_000L;
        int every = cfg.getInt(FRESH_SAMPLE_EVERY);
        long pollMs = cfg.getLong(FRESH_POLL_MS);

        ConcurrentLinkedQueue<Long> latenciesMs = new ConcurrentLinkedQueue<>();
        AtomicInteger bySeq = new AtomicInteger();
        AtomicInteger timeouts = new AtomicInteger();
        AtomicInteger outstanding = new AtomicInteger();
        AtomicLong lookups = new AtomicLong();
        AtomicLong lookupNanos = new AtomicLong();
        ScheduledExecutorService pool = Executors.newScheduledThreadPool(cfg.getInt(FRESH_THREADS), r -> {
            Thread t = new Thread(r, "freshness-poller");
            t.setDaemon(true);
            return t;
        });
        QueryableStateReader reader = new QueryableStateReader(LocalFlinkCluster.HOST, stack.proxyPort());
        List<long[]> lag = Collections.synchronizedList(new ArrayList<>());
        CpuProfile profile;
        long sent = 0;
        long start;
        try (Admin admin = TopicAdmin.admin(bootstrap);
             KafkaProducer<String, byte[]> producer = KafkaTestIO.producer(bootstrap)) {
            Iterator<UserAction> actions = gen.actions(Long.MAX_VALUE);
            Map<String, Long> perUser = new HashMap<>();
            // Backlog monitor: end offsets minus committed, every 2 s (the source commits at checkpoints).
            ScheduledExecutorService monitor = Executors.newSingleThreadScheduledExecutor();
            start = System.nanoTime();
            final long startF = start;
            FlinkRest rest = new FlinkRest(LocalFlinkCluster.HOST, stack.restPort(), jobId.toString());
            AtomicInteger ticks = new AtomicInteger();
            monitor.scheduleAtFixedRate(() -> {
                if (ticks.incrementAndGet() % 3 == 0) {
                    rest.sample();
                }
                try {
                    long end = endOffsets(admin, tps);
                    long c = BenchReport.committed(admin, group, tps);
                    lag.add(new long[] {(System.nanoTime() - startF) / 1_000_000, end - c});
                } catch (Exception e) {
                    // skip one sample
                }
            }, 0, 2, TimeUnit.SECONDS);
            profile = CpuProfile.start();
            say(String.format(Locale.ROOT, "freshness: offering %,d actions/s for %d s, sampling 1 in %d", rate,
                    cfg.getLong(FRESH_SECONDS), every));
            long nextReport = start + 10_000_000_000L;
            while (true) {
                long now = System.nanoTime();
                long elapsed = now - start;
                if (elapsed >= loadNanos) {
                    break;
                }
                long due = elapsed * rate / 1_000_000_000L;
                while (sent < due) {
                    UserAction a = actions.next();
                    long seq = perUser.merge(a.getUserId(), 1L, Long::sum);
                    byte[] value = KafkaTestIO.encode(a);
                    boolean sample = sent % every == 0;
                    long sendAt = System.nanoTime();
                    producer.send(new ProducerRecord<>(topic, null, a.getEventTime(), a.getUserId(), value));
                    if (sample) {
                        Sample s = new Sample(a.getUserId(), a.getItemId(), a.getAction().name(), a.getEventTime(),
                                sendAt, seq, sendAt - start >= discardNanos);
                        outstanding.incrementAndGet();
                        pool.schedule(() -> poll(s, reader, jobId, pool, pollMs, latenciesMs, bySeq, timeouts,
                                outstanding, lookups, lookupNanos), pollMs, TimeUnit.MILLISECONDS);
                    }
                    sent++;
                }
                if (now >= nextReport) {
                    say(String.format(Locale.ROOT, "  t=%3d s sent %,d, samples measured %,d, outstanding %d, lag %s",
                            elapsed / 1_000_000_000L, sent, latenciesMs.size(), outstanding.get(),
                            lag.isEmpty() ? "?" : String.format("%,d", lag.get(lag.size() - 1)[1])));
                    nextReport += 10_000_000_000L;
                }
                LockSupport.parkNanos(500_000);
            }
            producer.flush();
            long loadEnd = System.nanoTime();
            double actualRate = sent / ((loadEnd - start) / 1e9);
            // Drain: the job has kept up if everything is committed about one checkpoint after the load stops.
            long drainStart = System.nanoTime();
            boolean drained = TopicAdmin.awaitCommittedToEnd(bootstrap, group, topic, Duration.ofMinutes(2));
            long drainMs = ms(System.nanoTime() - drainStart);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(40);
            while (outstanding.get() > 0 && System.nanoTime() < deadline) {
                Thread.sleep(50);
            }
            profile.stop();
            monitor.shutdownNow();
            pool.shutdownNow();
            reader.close();

            List<Long> sorted = new ArrayList<>(latenciesMs);
            Collections.sort(sorted);
            Map<String, Object> r = new LinkedHashMap<>();
            r.put("offered_actions_per_s", rate);
            r.put("achieved_send_rate_per_s", round(actualRate, 0));
            r.put("load_s", cfg.getLong(FRESH_SECONDS));
            r.put("discarded_first_s", cfg.getLong(FRESH_DISCARD_S));
            r.put("actions_sent", sent);
            r.put("samples", sorted.size());
            r.put("samples_resolved_by_update_seq", bySeq.get());
            r.put("samples_timed_out", timeouts.get());
            r.put("samples_unresolved", outstanding.get());
            if (!sorted.isEmpty()) {
                r.put("p50_ms", pct(sorted, 50));
                r.put("p90_ms", pct(sorted, 90));
                r.put("p99_ms", pct(sorted, 99));
                r.put("max_ms", sorted.get(sorted.size() - 1));
                r.put("mean_ms", round(sorted.stream().mapToLong(Long::longValue).average().orElse(0), 1));
            }
            r.put("sample_every", every);
            r.put("poll_interval_ms", pollMs);
            r.put("lookups", lookups.get());
            r.put("mean_lookup_ms", round(lookups.get() == 0 ? 0 : lookupNanos.get() / 1e6 / lookups.get(), 2));
            List<long[]> lagCopy;
            synchronized (lag) {
                lagCopy = new ArrayList<>(lag);
            }
            List<Long> lagAfterDiscard = lagCopy.stream().filter(l -> l[0] >= discardNanos / 1_000_000 && l[0] <= loadNanos / 1_000_000)
                    .map(l -> l[1]).toList();
            r.put("backlog_samples", lagAfterDiscard);
            r.put("backlog_max", lagAfterDiscard.stream().mapToLong(Long::longValue).max().orElse(-1));
            r.put("drain_after_load_ms", drained ? drainMs : -1);
            // One checkpoint interval of input (plus one in flight) is the normal lag of offsets committed at checkpoints.
            long normal = 3L * rate * cfg.getLong(CHECKPOINT_MS) / 1000;
            boolean keptUp = drained && drainMs < 3 * cfg.getLong(CHECKPOINT_MS) + 5000
                    && lagAfterDiscard.stream().allMatch(l -> l <= normal);
            r.put("kept_up", keptUp);
            r.put("cpu", profile.summary((loadEnd - start) / 1e9));
            r.put("vertex_ms_per_s", rest.vertexTimes());
            r.put("checkpoints", rest.checkpoints());
            results.put("freshness", r);
            say("freshness: " + r);
        }
        job.cancel().get(60, TimeUnit.SECONDS);
    }

    private static void poll(Sample s, QueryableStateReader reader, JobID jobId, ScheduledExecutorService pool, long pollMs,
                             ConcurrentLinkedQueue<Long> latencies, AtomicInteger bySeq, AtomicInteger timeouts,
                             AtomicInteger outstanding, AtomicLong lookups, AtomicLong lookupNanos) {
        boolean visible = false;
        boolean seq = false;
        long before = System.nanoTime();
        try {
            UserFeatures f = reader.lookupOnce(jobId, s.userId(), QueryableStates.userFeatures(), Duration.ofSeconds(5));
            if (f != null) {
                for (Trigger t : f.getTriggers()) {
                    if (t.getEventTime() == s.eventTime() && t.getItemId().equals(s.itemId())
                            && t.getAction().name().equals(s.action())) {
                        visible = true;
                        break;
                    }
                }
                if (!visible && f.getUpdateSeq() >= s.userSeq() && !f.getTriggers().isEmpty()
                        && f.getTriggers().get(f.getTriggers().size() - 1).getEventTime() >= s.eventTime()) {
                    visible = true; // pushed out of the newest max-triggers by newer actions of the same user
                    seq = true;
                }
            }
        } catch (Exception e) {
            // not reachable yet: retry
        }
        long after = System.nanoTime();
        lookups.incrementAndGet();
        lookupNanos.addAndGet(after - before);
        if (visible) {
            if (s.measured()) {
                latencies.add((after - s.sentNanos()) / 1_000_000);
                if (seq) {
                    bySeq.incrementAndGet();
                }
            }
            outstanding.decrementAndGet();
        } else if (after - s.sentNanos() > 30_000_000_000L) {
            if (s.measured()) {
                timeouts.incrementAndGet();
            }
            outstanding.decrementAndGet();
        } else {
            try {
                // Back off with the sample's age (resolution stays within 5% of the latency): if the job falls
                // behind, the pollers must not take ever more CPU from it.
                long delay = Math.max(pollMs, (after - s.sentNanos()) / 20_000_000L);
                pool.schedule(() -> poll(s, reader, jobId, pool, pollMs, latencies, bySeq, timeouts, outstanding, lookups,
                        lookupNanos), delay, TimeUnit.MILLISECONDS);
            } catch (java.util.concurrent.RejectedExecutionException e) {
                outstanding.decrementAndGet();
            }
        }
    }

    static long pct(List<Long> sorted, double p) {
        int idx = (int) Math.ceil(p / 100.0 * sorted.size()) - 1;
        return sorted.get(Math.max(0, Math.min(sorted.size() - 1, idx)));
    }

    // ------------------------------------------------------------------ reporting

    private void printSummary() {
        System.out.println();
        System.out.println("==================== feature-job benchmark ====================");
        System.out.println("machine:    " + results.get("machine"));
        System.out.println("parameters: " + results.get("parameters"));
        if (results.containsKey("throughput")) {
            @SuppressWarnings("unchecked")
            Map<String, Object> t = (Map<String, Object>) results.get("throughput");
            System.out.printf(Locale.ROOT, "throughput: %,.0f actions/s over a %.1f s window (R²=%s; per 10 s: %s)%n",
                    ((Number) t.get("actions_per_s")).doubleValue(), ((Number) t.get("window_s")).doubleValue(),
                    t.get("r2"), t.get("per_10s_rates"));
            System.out.println("            cpu: " + t.get("cpu"));
        }
        if (results.containsKey("freshness")) {
            @SuppressWarnings("unchecked")
            Map<String, Object> f = (Map<String, Object>) results.get("freshness");
            System.out.printf(Locale.ROOT, "freshness:  at %s actions/s: p50 %s ms, p90 %s ms, p99 %s ms, max %s ms "
                            + "(%s samples, %s by updateSeq, %s timed out); kept up: %s (max backlog %s, drained %s ms after load)%n",
                    f.get("offered_actions_per_s"), f.get("p50_ms"), f.get("p90_ms"), f.get("p99_ms"), f.get("max_ms"),
                    f.get("samples"), f.get("samples_resolved_by_update_seq"), f.get("samples_timed_out"),
                    f.get("kept_up"), f.get("backlog_max"), f.get("drain_after_load_ms"));
            System.out.println("            cpu: " + f.get("cpu"));
        }
        System.out.println("total time: " + ms(System.nanoTime() - t0) / 1000 + " s");
        System.out.println("===============================================================");
    }

    static double round(double v, int digits) {
        double f = Math.pow(10, digits);
        return Math.round(v * f) / f;
    }

    static long ms(long nanos) {
        return nanos / 1_000_000;
    }

    @Override
    public void close() {
        if (stack != null) {
            stack.close();
        }
    }

    // ------------------------------------------------------------------ cheap CPU profile

    /**
     * Where the CPU went during a window: this JVM (Flink, producer, pollers) vs the broker JVM vs everything else
     * on the machine (/proc/stat), and the busiest threads of this JVM (ThreadMXBean; a task thread's time includes its
     * RocksDB calls through JNI, RocksDB's own background threads are not Java threads).
     */
    static final class CpuProfile {
        private final long startNanos = System.nanoTime();
        private final long selfStart = selfCpu();
        private final long brokerStart = childrenCpu();
        private final long[] sysStart = procStat();
        private final Map<Long, String> names = new HashMap<>();
        private final Map<Long, Long> threadStart = threadCpu(names);
        private long stopNanos;
        private long selfStop;
        private long brokerStop;
        private long[] sysStop;
        private Map<Long, Long> threadStop;

        static CpuProfile start() {
            return new CpuProfile();
        }

        void stop() {
            stopNanos = System.nanoTime();
            selfStop = selfCpu();
            brokerStop = childrenCpu();
            sysStop = procStat();
            threadStop = threadCpu(names);
        }

        Map<String, Object> summary(double ignoredSeconds) {
            double wall = (stopNanos - startNanos) / 1e9;
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("flink_jvm_cores", round((selfStop - selfStart) / 1e9 / wall, 2));
            m.put("broker_jvm_cores", round((brokerStop - brokerStart) / 1e9 / wall, 2));
            if (sysStart != null && sysStop != null) {
                long busy = sysStop[0] - sysStart[0];
                long total = sysStop[1] - sysStart[1];
                int cores = Runtime.getRuntime().availableProcessors();
                double busyCores = total == 0 ? 0 : (double) busy / total * cores;
                m.put("machine_busy_cores", round(busyCores, 2));
                m.put("other_processes_cores", round(Math.max(0, busyCores - (selfStop - selfStart) / 1e9 / wall
                        - (brokerStop - brokerStart) / 1e9 / wall), 2));
            }
            Map<String, Double> byThread = new HashMap<>();
            threadStop.forEach((id, cpu) -> {
                long before = threadStart.getOrDefault(id, 0L);
                String name = names.getOrDefault(id, "?").replaceAll("#\\d+$", "").replaceAll("-\\d+$", "-N")
                        .replaceAll("\\(\\d+/\\d+\\)", "(*)");
                byThread.merge(name, (cpu - before) / 1e9 / wall, Double::sum);
            });
            m.put("top_threads_cores", byThread.entrySet().stream()
                    .sorted(Map.Entry.<String, Double>comparingByValue().reversed()).limit(10)
                    .collect(Collectors.toMap(Map.Entry::getKey, e -> round(e.getValue(), 2), (a, b) -> a, LinkedHashMap::new)));
            return m;
        }

        private static long selfCpu() {
            var os = ManagementFactory.getOperatingSystemMXBean();
            return os instanceof com.sun.management.OperatingSystemMXBean sun ? sun.getProcessCpuTime() : 0;
        }

        private static long childrenCpu() {
            return ProcessHandle.current().children().mapToLong(p -> p.info().totalCpuDuration()
                    .map(Duration::toNanos).orElse(0L)).sum();
        }

        /** [busy jiffies, total jiffies] over all CPUs. */
        private static long[] procStat() {
            try {
                String[] f = Files.readAllLines(Path.of("/proc/stat")).get(0).trim().split("\\s+");
                long total = 0;
                for (int i = 1; i < f.length; i++) {
                    total += Long.parseLong(f[i]);
                }
                long idle = Long.parseLong(f[4]) + Long.parseLong(f[5]);
                return new long[] {total - idle, total};
            } catch (Exception e) {
                return null;
            }
        }

        private static Map<Long, Long> threadCpu(Map<Long, String> names) {
            ThreadMXBean mx = ManagementFactory.getThreadMXBean();
            Map<Long, Long> out = new HashMap<>();
            for (ThreadInfo info : mx.getThreadInfo(mx.getAllThreadIds())) {
                if (info == null) {
                    continue;
                }
                long cpu = mx.getThreadCpuTime(info.getThreadId());
                if (cpu >= 0) {
                    out.put(info.getThreadId(), cpu);
                    names.put(info.getThreadId(), info.getThreadName());
                }
            }
            return out;
        }
    }
}
