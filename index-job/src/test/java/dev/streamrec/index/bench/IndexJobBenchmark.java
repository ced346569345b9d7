package dev.streamrec.index.bench;

import static dev.streamrec.local.bench.BenchStack.say;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.MemorySize;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.core.execution.SavepointFormatType;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;

import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;

import dev.streamrec.avro.ActionType;
import dev.streamrec.avro.RecallResult;
import dev.streamrec.avro.Trigger;
import dev.streamrec.avro.UserFeatures;
import dev.streamrec.client.FlinkRestClient;
import dev.streamrec.client.IndexShardMetrics;
import dev.streamrec.client.Lookup;
import dev.streamrec.client.RecallClient;
import dev.streamrec.index.IndexJob;
import dev.streamrec.index.IndexOptions;
import dev.streamrec.index.ann.BruteForceIndex;
import dev.streamrec.index.ann.ClusteredVectors;
import dev.streamrec.index.ann.Neighbor;
import dev.streamrec.jobs.JobSetup;
import dev.streamrec.jobs.config.JobConfig;
import dev.streamrec.jobs.config.Option;
import dev.streamrec.local.bench.BenchReport;
import dev.streamrec.local.bench.BenchStack;
import dev.streamrec.schemas.Topic;
import dev.streamrec.testkit.KafkaTestIO;
import dev.streamrec.testkit.LocalFlinkCluster;
import dev.streamrec.testkit.TopicAdmin;

/**
 * The index-job benchmark: on the same seeded clustered vectors, side by side in one run, (a) exact brute force,
 * (b) one raw hnswlib-core index, (c) the index-job's sharded index inside Flink with RocksDB on the local stack
 * (real Kafka broker, MiniCluster, queryable state). Writes docs/bench/index-job.json and the "## index-job" section
 * of docs/benchmarks.md. Started by {@code bin/bench-index-job}.
 */
public final class IndexJobBenchmark implements BenchStack.Benchmark {
    static final Option ITEMS = Option.of("items", 1_000_000, "Items (vectors) indexed.");
    static final Option DIMENSION = Option.of("dimension", 64, "Vector dimension.");
    static final Option SEED = Option.of("seed", 42, "Seed of the clustered vectors.");
    static final Option QUERIES = Option.of("queries", 500, "Users (query vectors) whose recall is computed and checked.");
    static final Option SEEDS_PER_USER = Option.of("seeds-per-user", 5, "Trigger items per user (i2i seeds).");
    static final Option PARALLELISM = Option.of("parallelism", 2, "index-job parallelism.");
    static final Option SHARDS = Option.of("shards", 8, "index.shards.");
    static final Option PARTITIONS = Option.of("partitions", 4, "Partitions per topic.");
    static final Option CHECKPOINT_MS = Option.of("checkpoint.ms", 5000, "Checkpoint interval.");
    static final Option SNAPSHOT_MS = Option.of("snapshot.interval.ms", 60000, "index.snapshot-interval.ms during the run.");
    static final Option SLOTS = Option.of("slots", 4, "MiniCluster task slots.");
    static final Option MANAGED_MEMORY = Option.of("managed.memory", "1g", "MiniCluster managed memory (RocksDB).");
    static final Option QS_THREADS = Option.of("qs.threads", 8, "Concurrent queryable-state client threads.");
    static final Option QS_SECONDS = Option.of("qs.seconds", 30, "Duration of each queryable-state lookup load.");
    static final Option QS_RATE = Option.of("qs.rate", 2000, "Lookups/s (all threads) of the paced load.");
    static final Option SKIP_STANDALONE = Option.of("skip.standalone", false, "Skip (a) and (b) (brute force and raw hnswlib).");
    static final Option WRITE_DOCS = Option.of("write.docs", true, "Write docs/bench/index-job.json and the docs/benchmarks.md section.");
    static final Option DOCS_DIR = Option.of("docs.dir", "docs", "Where the docs are.");
    static final List<Option> OPTIONS = List.of(ITEMS, DIMENSION, SEED, QUERIES, SEEDS_PER_USER, PARALLELISM, SHARDS,
            PARTITIONS, CHECKPOINT_MS, SNAPSHOT_MS, SLOTS, MANAGED_MEMORY, QS_THREADS, QS_SECONDS, QS_RATE, SKIP_STANDALONE,
            WRITE_DOCS, DOCS_DIR);

    private final JobConfig cfg;
    private final Map<String, Object> results = new LinkedHashMap<>();
    private final ClusteredVectors data;
    private final int items;
    private final int queries;
    private BenchStack stack;
    private FlinkRestClient rest;
    private final String prefix = "bench-";
    private List<List<String>> exactTop10;

    private IndexJobBenchmark(JobConfig cfg) {
        this.cfg = cfg;
        this.items = cfg.getInt(ITEMS);
        this.queries = cfg.getInt(QUERIES);
        this.data = ClusteredVectors.of(cfg.getLong(SEED), cfg.getInt(DIMENSION));
    }

    public static void main(String[] args) {
        BenchStack.main("index-job-benchmark", OPTIONS, args, IndexJobBenchmark::new);
    }

    @Override
    public void run() throws Exception {
        results.put("machine", BenchReport.machine());
        Map<String, Object> params = new LinkedHashMap<>();
        for (Option o : OPTIONS) {
            params.put(o.key(), cfg.get(o));
        }
        results.put("parameters", params);
        say("parameters: " + params);

        exactTop10 = exactTop10();
        if (!cfg.getBoolean(SKIP_STANDALONE)) {
            results.put("standalone", StandaloneComparison.run(items, cfg.getInt(DIMENSION), cfg.getInt(SHARDS), queries,
                    cfg.getLong(SEED)));
            say("standalone: " + results.get("standalone"));
        }
        results.put("flink", flink());
        printSummary();
        if (cfg.getBoolean(WRITE_DOCS)) {
            IndexBenchDocs.write(Path.of(cfg.get(DOCS_DIR)), results, System.getProperty("bench.command", "bin/bench-index-job"));
        }
    }

    /** Exact top-10 of every query over all items: the reference for every recall@10 below. */
    private List<List<String>> exactTop10() {
        long start = System.nanoTime();
        BruteForceIndex exact = new BruteForceIndex(data.dimension(), items);
        for (int i = 0; i < items; i++) {
            exact.upsert(ClusteredVectors.itemId(i), data.vector(i), 1);
        }
        List<List<String>> truth = new ArrayList<>();
        for (int q = 0; q < queries; q++) {
            truth.add(exact.search(data.query(q), 10, id -> false).stream().map(Neighbor::itemId).toList());
        }
        say("exact top-10 of " + queries + " queries over " + items + " items in " + ms(System.nanoTime() - start) + " ms");
        return truth;
    }

    static double recallAt10(List<String> truth, List<String> got) {
        Set<String> hit = new HashSet<>(truth);
        hit.retainAll(got.subList(0, Math.min(10, got.size())));
        return hit.size() / (double) truth.size();
    }

    // ------------------------------------------------------------------ (c) the index-job inside Flink

    private Map<String, Object> flink() throws Exception {
        Map<String, Object> out = new LinkedHashMap<>();
        stack = BenchStack.start("index-bench", cfg.getInt(SLOTS), MemorySize.parse(cfg.get(MANAGED_MEMORY)));
        rest = new FlinkRestClient(LocalFlinkCluster.HOST, stack.restPort());
        TopicAdmin.createPipelineTopics(stack.bootstrapServers(), prefix, cfg.getInt(PARTITIONS));

        try (KafkaTestIO kafka = new KafkaTestIO(stack.bootstrapServers())) {
            long produceStart = System.nanoTime();
            Map<String, Object> bulk = Map.of(ProducerConfig.BATCH_SIZE_CONFIG, 262144, ProducerConfig.LINGER_MS_CONFIG, 20,
                    ProducerConfig.COMPRESSION_TYPE_CONFIG, "lz4", ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, 1_800_000,
                    ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, 300_000);
            java.util.concurrent.atomic.AtomicLong failed = new java.util.concurrent.atomic.AtomicLong();
            try (KafkaProducer<String, byte[]> producer = KafkaTestIO.producer(stack.bootstrapServers(), bulk)) {
                for (int i = 0; i < items; i++) {
                    String id = ClusteredVectors.itemId(i);
                    producer.send(new ProducerRecord<>(Topic.ITEM_EMBEDDINGS.name(prefix), null, System.currentTimeMillis(),
                            id, KafkaTestIO.encode(BenchRecords.item(id, "v1", data.vector(i)))), (meta, e) -> {
                                if (e != null) {
                                    failed.incrementAndGet();
                                }
                            });
                }
                producer.flush();
            }
            if (failed.get() > 0) {
                throw new IllegalStateException(failed.get() + " items could not be produced");
            }
            say("produced " + items + " items in " + ms(System.nanoTime() - produceStart) + " ms");

            long heapBefore = usedHeapAfterGc();
            JobClient job = JobSetup.submit(new IndexJob(), environment(null), jobConfig());
            long buildStart = System.nanoTime();
            long cpuStart = processCpuNanos();
            awaitCommittedToEnd(Topic.ITEM_EMBEDDINGS, Duration.ofHours(2));
            double buildSeconds = (System.nanoTime() - buildStart) / 1e9;
            double buildCpuSeconds = (processCpuNanos() - cpuStart) / 1e9;
            out.put("build_items_per_cpu_s", BenchReport.round(items / buildCpuSeconds, 0));
            long heapAfter = usedHeapAfterGc();
            out.put("build_items_per_s", BenchReport.round(items / buildSeconds, 0));
            out.put("build_s", BenchReport.round(buildSeconds, 1));
            out.put("heap_bytes_per_item", BenchReport.round((heapAfter - heapBefore) / (double) items, 0));
            say(String.format("(c) built %d items in %.1f s: %.0f items/s; heap %d -> %d MiB", items, buildSeconds,
                    items / buildSeconds, heapBefore >> 20, heapAfter >> 20));

            try (RecallClient client = RecallClient.builder().rest(rest.baseUrl()).proxy(LocalFlinkCluster.HOST, stack.proxyPort())
                    .timeout(Duration.ofSeconds(60)).build()) {
                out.putAll(recallQualityAndLatency(kafka, client));
                out.putAll(lookupLoad(client));
                out.putAll(restore(kafka, client, job));
            }
        }
        return out;
    }

    private JobConfig jobConfig() {
        return indexJobOnStack(stack, prefix, cfg.get(PARALLELISM), cfg.get(CHECKPOINT_MS), cfg.get(SHARDS), cfg.get(DIMENSION),
                "--" + IndexOptions.SNAPSHOT_INTERVAL_MS.key(), cfg.get(SNAPSHOT_MS));
    }

    /**
     * index-job's configuration in an index-job benchmark: the stack's broker and the topic prefix, read from the
     * start, debounce off (every feature update is a measured request), plus {@code more} options.
     */
    static JobConfig indexJobOnStack(BenchStack stack, String prefix, String parallelism, String checkpointMs,
                                     String shards, String dimension, String... more) {
        List<String> args = new ArrayList<>(List.of("--bootstrap.servers", stack.bootstrapServers(), "--topic.prefix", prefix,
                "--parallelism", parallelism, "--checkpoint.interval.ms", checkpointMs,
                "--source.starting-offsets", "earliest",
                "--" + IndexOptions.SHARDS.key(), shards,
                "--" + IndexOptions.DIMENSION.key(), dimension,
                "--" + IndexOptions.DEBOUNCE_MS.key(), "0"));
        args.addAll(List.of(more));
        return new IndexJob().parseConfig(args.toArray(String[]::new));
    }

    /** An environment that submits to the MiniCluster, restoring from {@code savepoint} if given. */
    private StreamExecutionEnvironment environment(String savepoint) {
        Configuration c = stack.flinkConfiguration();
        if (savepoint != null) {
            c.setString("execution.state-recovery.path", savepoint);
        }
        return StreamExecutionEnvironment.createRemoteEnvironment(LocalFlinkCluster.HOST, stack.restPort(), c);
    }

    /**
     * One user per query vector, one at a time: the user's features go into user-features and the time until the
     * user's recall is visible through queryable state is the recall computation latency as a caller sees it (Kafka
     * in, debounce off, seed lookups, fan-out to every shard, merge). recall@10 of the u2i channel against exact.
     */
    private Map<String, Object> recallQualityAndLatency(KafkaTestIO kafka, RecallClient client) throws Exception {
        SplittableRandom r = new SplittableRandom(7);
        double[] latencies = new double[queries];
        double recallSum = 0;
        long now = System.currentTimeMillis();
        for (int q = 0; q < queries; q++) {
            String user = "bench-user-" + q;
            List<Trigger> triggers = new ArrayList<>();
            for (int t = 0; t < cfg.getInt(SEEDS_PER_USER); t++) {
                triggers.add(new Trigger(ClusteredVectors.itemId(r.nextInt(items)), ActionType.CLICK, 1.0, now - t));
            }
            UserFeatures f = BenchRecords.features(user, "v1", data.query(q), triggers, now + q);
            long start = System.nanoTime();
            kafka.produce(Topic.USER_FEATURES.name(prefix), user, f, System.currentTimeMillis());
            Lookup<RecallResult> result = client.lookupUntil(client.recallTarget(), user, Duration.ofSeconds(60),
                    x -> x.getSourceEventTime() == f.getLastEventTime());
            latencies[q] = (System.nanoTime() - start) / 1e6;
            if (!result.found()) {
                throw new IllegalStateException("no recall for " + user + ": " + result.describe());
            }
            List<String> u2i = result.value().getCandidates().stream().filter(c -> c.getChannel().equals("u2i"))
                    .map(c -> c.getItemId()).toList();
            recallSum += recallAt10(exactTop10.get(q), u2i);
        }
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("recall_at_10", BenchReport.round(recallSum / queries, 4));
        out.put("recall_latency_p50_ms", BenchReport.round(BenchReport.percentile(latencies, 0.5), 2));
        out.put("recall_latency_p99_ms", BenchReport.round(BenchReport.percentile(latencies, 0.99), 2));
        out.putAll(shardSearchLatency());
        say("(c) recall: " + out);
        return out;
    }

    /** The shards' own search latency (histogram per shard; the slowest shard's p50 and p99). */
    private Map<String, Object> shardSearchLatency() throws Exception {
        // The REST API answers from a metric cache and refreshes it (asynchronously, at most every 10 s) when asked:
        // ask once, then read after the refresh, or the figures are those of the build phase (empty histograms).
        shardMetrics(currentJob(), ".shardSearchMicros_median");
        Thread.sleep(12_000);
        Map<String, Double> p50 = shardMetrics(currentJob(), ".shardSearchMicros_median");
        Map<String, Double> p99 = shardMetrics(currentJob(), ".shardSearchMicros_p99");
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("shard_search_p50_ms_max_over_shards", BenchReport.round(p50.values().stream().mapToDouble(d -> d).max().orElse(Double.NaN) / 1000, 3));
        out.put("shard_search_p99_ms_max_over_shards", BenchReport.round(p99.values().stream().mapToDouble(d -> d).max().orElse(Double.NaN) / 1000, 3));
        return out;
    }

    /**
     * Lookups of random users' recall through one shared client from several threads: first closed loop (as fast as
     * they can: the throughput), then paced at {@code qs.rate} lookups/s in all (the latency at that load).
     */
    private Map<String, Object> lookupLoad(RecallClient client) throws Exception {
        Map<String, Object> out = new LinkedHashMap<>();
        int threads = cfg.getInt(QS_THREADS);
        out.put("qs_threads", threads);
        double[] closed = lookups(client, threads, cfg.getInt(QS_SECONDS), 0);
        out.put("qs_lookups_per_s", BenchReport.round(closed.length / (double) cfg.getInt(QS_SECONDS), 0));
        out.put("qs_closed_loop_p50_ms", BenchReport.round(BenchReport.percentile(closed, 0.5), 3));
        out.put("qs_closed_loop_p99_ms", BenchReport.round(BenchReport.percentile(closed, 0.99), 3));
        double rate = cfg.getDouble(QS_RATE);
        double[] paced = lookups(client, threads, cfg.getInt(QS_SECONDS), rate);
        out.put("qs_paced_rate_per_s", rate);
        out.put("qs_paced_achieved_per_s", BenchReport.round(paced.length / (double) cfg.getInt(QS_SECONDS), 0));
        out.put("qs_lookup_p50_ms", BenchReport.round(BenchReport.percentile(paced, 0.5), 3));
        out.put("qs_lookup_p99_ms", BenchReport.round(BenchReport.percentile(paced, 0.99), 3));
        say("(c) queryable state: " + out);
        return out;
    }

    /** Latencies (ms) of lookups from {@code threads} threads for {@code seconds}; {@code rate} > 0 paces them in all. */
    private double[] lookups(RecallClient client, int threads, int seconds, double rate) throws Exception {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        long periodNanos = rate > 0 ? (long) (threads * 1e9 / rate) : 0;
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        List<Future<double[]>> futures = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            int seed = t;
            futures.add(pool.submit(() -> {
                SplittableRandom r = new SplittableRandom(seed);
                double[] lat = new double[1 << 16];
                int n = 0;
                long next = System.nanoTime() + seed * periodNanos / Math.max(1, threads);
                while (System.nanoTime() < end) {
                    if (periodNanos > 0) {
                        long wait = next - System.nanoTime();
                        if (wait > 0) {
                            TimeUnit.NANOSECONDS.sleep(wait);
                        }
                        next += periodNanos;
                    }
                    String user = "bench-user-" + r.nextInt(queries);
                    long s = System.nanoTime();
                    Lookup<RecallResult> l = client.recall(user, Duration.ofSeconds(5));
                    double ms = (System.nanoTime() - s) / 1e6;
                    if (!l.found()) {
                        throw new IllegalStateException("lookup failed: " + l.describe());
                    }
                    if (n == lat.length) {
                        lat = java.util.Arrays.copyOf(lat, n * 2);
                    }
                    lat[n++] = ms;
                }
                return java.util.Arrays.copyOf(lat, n);
            }));
        }
        List<Double> all = new ArrayList<>();
        for (Future<double[]> f : futures) {
            for (double d : f.get()) {
                all.add(d);
            }
        }
        pool.shutdown();
        return all.stream().mapToDouble(d -> d).toArray();
    }

    /**
     * Waits until every shard's snapshot covers its index, stops the job with a savepoint, restarts it from the
     * savepoint and times until a user's new recall is visible (job start + every shard loading its index).
     */
    private Map<String, Object> restore(KafkaTestIO kafka, RecallClient client, JobClient job) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(10);
        while (true) {
            Map<String, Double> current = shardMetrics(job.getJobID().toString(), ".snapshotCurrent");
            if (current.size() >= cfg.getInt(SHARDS) && current.values().stream().allMatch(v -> v >= 1)) {
                break;
            }
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("snapshots not current: " + current);
            }
            Thread.sleep(1000);
        }
        long s = System.nanoTime();
        String savepoint = job.stopWithSavepoint(false, stack.workDir().resolve("savepoints").toUri().toString(),
                SavepointFormatType.CANONICAL).get();
        double savepointSeconds = (System.nanoTime() - s) / 1e9;
        say(String.format("(c) savepoint in %.1f s", savepointSeconds));

        long restoreStart = System.nanoTime();
        JobClient restored = JobSetup.submit(new IndexJob(), environment(savepoint), jobConfig());
        String user = "bench-user-0";
        long now = System.currentTimeMillis() + 1_000_000;
        UserFeatures f = BenchRecords.features(user, "v1", data.query(queries), List.of(), now);
        kafka.produce(Topic.USER_FEATURES.name(prefix), user, f, System.currentTimeMillis());
        Lookup<RecallResult> result = client.lookupUntil(client.recallTarget(), user, Duration.ofMinutes(10),
                x -> x.getSourceEventTime() == now);
        double restoreSeconds = (System.nanoTime() - restoreStart) / 1e9;
        if (!result.found()) {
            throw new IllegalStateException("no recall after restore: " + result.describe());
        }
        Map<String, Double> loads = Map.of();
        for (int i = 0; i < 60 && loads.size() < cfg.getInt(SHARDS); i++) { // the REST metrics refresh every few seconds
            Thread.sleep(1000);
            loads = shardMetrics(restored.getJobID().toString(), ".restoreMillis");
        }
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("savepoint_s", BenchReport.round(savepointSeconds, 1));
        out.put("restore_s", BenchReport.round(restoreSeconds, 1));
        out.put("shard_load_ms_max", loads.values().stream().mapToDouble(d -> d).max().orElse(Double.NaN));
        out.put("shard_load_ms", new LinkedHashMap<>(loads));
        say("(c) restore: " + out);
        restored.cancel().get();
        return out;
    }

    // ------------------------------------------------------------------ helpers

    private String currentJob() throws Exception {
        return rest.runningJob(IndexJob.NAME, Duration.ofSeconds(10)).orElseThrow().toString();
    }

    /** A metric of the shard operator, per shard. */
    private Map<String, Double> shardMetrics(String jobId, String suffix) throws Exception {
        return IndexShardMetrics.perShard(rest, jobId, suffix);
    }

    private void awaitCommittedToEnd(Topic topic, Duration timeout) throws Exception {
        if (!TopicAdmin.awaitCommittedToEnd(stack.bootstrapServers(), prefix + IndexJob.NAME, topic.name(prefix), timeout)) {
            throw new IllegalStateException("index-job did not ingest " + topic + " within " + timeout);
        }
    }

    /** CPU time of this JVM (the MiniCluster and its jobs; the broker is another process). */
    private static long processCpuNanos() {
        return ((com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean())
                .getProcessCpuTime();
    }

    private static long usedHeapAfterGc() {
        for (int i = 0; i < 3; i++) {
            System.gc();
        }
        Runtime rt = Runtime.getRuntime();
        return rt.totalMemory() - rt.freeMemory();
    }

    private void printSummary() {
        System.out.println("================ index-job benchmark ================");
        System.out.println(BenchReport.toJson(results, ""));
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
}
