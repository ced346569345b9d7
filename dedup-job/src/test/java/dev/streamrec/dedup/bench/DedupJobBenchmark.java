package dev.streamrec.dedup.bench;

import static dev.streamrec.local.bench.BenchStack.say;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.LockSupport;

import org.apache.flink.configuration.MemorySize;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;

import dev.streamrec.avro.Candidate;
import dev.streamrec.avro.Impression;
import dev.streamrec.avro.RecallResult;
import dev.streamrec.client.QueryableStateReader;
import dev.streamrec.dedup.DedupJob;
import dev.streamrec.jobs.JobSetup;
import dev.streamrec.jobs.config.JobConfig;
import dev.streamrec.jobs.config.Option;
import dev.streamrec.local.bench.BenchReport;
import dev.streamrec.local.bench.BenchStack;
import dev.streamrec.schemas.QueryableStates;
import dev.streamrec.schemas.Topic;
import dev.streamrec.seen.SeenPolicy;
import dev.streamrec.testkit.KafkaTestIO;
import dev.streamrec.testkit.LocalFlinkCluster;
import dev.streamrec.testkit.TopicAdmin;

/**
 * Benchmark (not a test) of dedup-job, both seen-set representations side by side in one run, on the local stack (a
 * real Kafka broker, a MiniCluster with RocksDB, the exactly-once sink). Run it with {@code bin/bench-dedup-job}.
 *
 * <p><b>Throughput</b> (per representation, a job of its own on topics of its own): recall results for the users are
 * loaded and ingested first; then a backlog of impressions in pages of ten (a feed response: ten items of one user's
 * recall at once) is loaded, and the job's committed offsets on {@code impressions} are sampled every second; the
 * least-squares slope over at least {@code throughput.window.s} is the end-to-end rate (committed offsets move at
 * checkpoints, when the impressions' output is in a committed transaction).
 *
 * <p><b>Impression to filtered</b> (the same job, other users): pages are offered at a fixed rate with wall-clock
 * event times; for 1 in N pages the time is taken just before {@code producer.send} of its first impression and
 * the user's queryable {@code fresh-recall} is polled until the item is gone.
 *
 * <p><b>Bytes per user</b> ({@link SeenStateFootprint}): the seen sets of {@code memory.users} users with
 * {@code memory.items} impressions each, spread over the 7-day period, written into RocksDB keyed state with the
 * job's serializer, then an incremental checkpoint: its size (RocksDB's SST files) per user, and the serialized
 * value per user. The false-positive rate is measured on those sets against the exact truth.
 */
public final class DedupJobBenchmark implements BenchStack.Benchmark {
    static final Option PARTITIONS = Option.of("partitions", 2, "Partitions per topic.");
    static final Option PARALLELISM = Option.of("job.parallelism", 2, "dedup-job parallelism.");
    static final Option CHECKPOINT_MS = Option.of("job.checkpoint.interval.ms", 2000, "dedup-job checkpoint interval.");
    static final Option SLOTS = Option.of("slots", 4, "Task slots of the MiniCluster.");
    static final Option MANAGED_MEMORY = Option.of("managed.memory", "512m", "Managed memory (RocksDB) of the MiniCluster.");
    static final Option REPRESENTATIONS = Option.of("representations", "compact,exact", "Seen-set representations, in run order; the first is the default being measured.");
    static final Option TP_USERS = Option.of("throughput.users", 33000, "Throughput: users (each with a 200-candidate recall).");
    static final Option TP_IMPRESSIONS = Option.of("throughput.impressions", 5000000, "Throughput: impressions in the backlog.");
    static final Option TP_SETTLE_S = Option.of("throughput.settle.s", 5, "Throughput: seconds after the backlog is loaded before the window starts.");
    static final Option TP_WINDOW_S = Option.of("throughput.window.s", 60, "Throughput: minimum window.");
    static final Option TP_MAX_WINDOW_S = Option.of("throughput.max-window.s", 75, "Throughput: the window ends after this long.");
    static final Option LAT_USERS = Option.of("latency.users", 5000, "Latency: users (other than the throughput ones).");
    static final Option LAT_RATE = Option.of("latency.rate", 5000, "Latency: offered impressions per second (in pages of ten).");
    static final Option LAT_SECONDS = Option.of("latency.seconds", 60, "Latency: load duration.");
    static final Option LAT_DISCARD_S = Option.of("latency.discard.s", 5, "Latency: samples of the first seconds are discarded.");
    static final Option LAT_SAMPLE_EVERY = Option.of("latency.sample-every", 25, "Latency: sample 1 in N pages.");
    static final Option LAT_POLL_MS = Option.of("latency.poll.ms", 5, "Latency: queryable-state poll interval per sample.");
    static final Option MEM_USERS = Option.of("memory.users", 1000000, "Bytes per user: users.");
    static final Option MEM_ITEMS = Option.of("memory.items", 500, "Bytes per user: seen items per user (over the 7-day period).");
    static final Option FP_LOOKUPS = Option.of("memory.fp-lookups", 100000, "Lookups of unseen items for the false-positive rate.");
    static final Option WRITE_DOCS = Option.of("write.docs", true, "Write docs/bench/dedup-job.json and the docs/benchmarks.md section.");
    static final Option DOCS_DIR = Option.of("docs.dir", "docs", "Where the docs are.");
    static final List<Option> OPTIONS = List.of(PARTITIONS, PARALLELISM, CHECKPOINT_MS, SLOTS, MANAGED_MEMORY, REPRESENTATIONS,
            TP_USERS, TP_IMPRESSIONS, TP_SETTLE_S, TP_WINDOW_S, TP_MAX_WINDOW_S, LAT_USERS, LAT_RATE, LAT_SECONDS,
            LAT_DISCARD_S, LAT_SAMPLE_EVERY, LAT_POLL_MS, MEM_USERS, MEM_ITEMS, FP_LOOKUPS, WRITE_DOCS, DOCS_DIR);

    static final int K = 200;
    static final int PAGE = 10;
    static final int ITEM_POOL = 100_000;

    private final JobConfig cfg;
    private final Map<String, Object> results = new LinkedHashMap<>();
    private BenchStack stack;

    private DedupJobBenchmark(JobConfig cfg) {
        this.cfg = cfg;
    }

    public static void main(String[] args) {
        BenchStack.main("dedup-job-benchmark", OPTIONS, args, DedupJobBenchmark::new);
    }

    @Override
    public void run() throws Exception {
        results.put("machine", BenchReport.machine());
        say("machine: " + results.get("machine"));
        Map<String, Object> params = new LinkedHashMap<>();
        params.put("parallelism", cfg.getInt(PARALLELISM));
        params.put("partitions", cfg.getInt(PARTITIONS));
        params.put("checkpoint_interval_ms", cfg.getLong(CHECKPOINT_MS));
        params.put("throughput_users", cfg.getInt(TP_USERS));
        params.put("latency_rate", cfg.getInt(LAT_RATE));
        params.put("memory_users", cfg.getInt(MEM_USERS));
        params.put("memory_items_per_user", cfg.getInt(MEM_ITEMS));
        results.put("parameters", params);
        List<String> reps = cfg.getList(REPRESENTATIONS);
        Map<String, Map<String, Object>> byRep = new LinkedHashMap<>();
        stack = BenchStack.start("dedup-bench", cfg.getInt(SLOTS), MemorySize.parse(cfg.get(MANAGED_MEMORY)));
        for (String rep : reps) {
            byRep.put(rep, new LinkedHashMap<>());
            onStack(rep, byRep.get(rep));
        }
        stack.close();
        stack = null;
        for (String rep : reps) {
            SeenStateFootprint.Result m = SeenStateFootprint.measure(SeenPolicy.Representation.of(rep),
                    cfg.getInt(MEM_USERS), cfg.getInt(MEM_ITEMS), cfg.getInt(FP_LOOKUPS));
            byRep.get(rep).put("memory", m.asMap());
            say(rep + " memory: " + m.asMap());
        }
        results.put("representations", byRep);
        say("results: " + BenchReport.toJson(byRep, ""));
        if (cfg.getBoolean(WRITE_DOCS)) {
            DedupBenchDocs.write(Path.of(cfg.get(DOCS_DIR)), results, reps,
                    System.getProperty("bench.command", "bin/bench-dedup-job"));
        }
    }

    private void onStack(String rep, Map<String, Object> out) throws Exception {
        String prefix = rep + "-";
        String bootstrap = stack.bootstrapServers();
        TopicAdmin.createPipelineTopics(bootstrap, prefix, cfg.getInt(PARTITIONS));
        long now = System.currentTimeMillis();
        Random random = new Random(rep.hashCode());
        List<RecallResult> tpRecall = recall("tp", cfg.getInt(TP_USERS), now - 3 * 3_600_000L, random);
        List<RecallResult> latRecall = recall("lat", cfg.getInt(LAT_USERS), now - 3 * 3_600_000L, random);
        produce(Topic.RECALL.name(prefix), tpRecall, RecallResult::getUserId);
        produce(Topic.RECALL.name(prefix), latRecall, RecallResult::getUserId);
        JobClient job = startJob(prefix, rep);
        String group = prefix + DedupJob.NAME;
        if (!TopicAdmin.awaitCommittedToEnd(bootstrap, group, Topic.RECALL.name(prefix), Duration.ofMinutes(5))) {
            throw new IllegalStateException("recall not ingested within 5 minutes");
        }
        say(rep + ": recall of " + (tpRecall.size() + latRecall.size()) + " users ingested");
        out.put("throughput", throughput(prefix, tpRecall, now - 2 * 3_600_000L));
        out.put("latency", latency(prefix, job, latRecall));
        job.cancel().get(2, TimeUnit.MINUTES);
        say(rep + ": job cancelled");
    }

    private JobClient startJob(String prefix, String rep) throws Exception {
        List<String> args = List.of("--bootstrap.servers", stack.bootstrapServers(), "--topic.prefix", prefix,
                "--parallelism", cfg.get(PARALLELISM), "--checkpoint.interval.ms", cfg.get(CHECKPOINT_MS),
                "--source.starting-offsets", "earliest", "--dedup.representation", rep);
        JobConfig jobConfig = new DedupJob().parseConfig(args.toArray(new String[0]));
        StreamExecutionEnvironment env = StreamExecutionEnvironment.createRemoteEnvironment(LocalFlinkCluster.HOST,
                stack.restPort(), stack.flinkConfiguration());
        JobClient client = JobSetup.submit(new DedupJob(), env, jobConfig);
        say("submitted dedup-job " + client.getJobID() + " (" + String.join(" ", args) + ")");
        return client;
    }

    static List<RecallResult> recall(String userPrefix, int users, long sourceEventTime, Random random) {
        List<RecallResult> out = new ArrayList<>(users);
        for (int u = 0; u < users; u++) {
            List<Candidate> candidates = new ArrayList<>(K);
            int start = random.nextInt(ITEM_POOL);
            for (int i = 0; i < K; i++) {
                candidates.add(new Candidate("i" + ((start + i * 7919) % ITEM_POOL), 1.0 - i / 1000.0, i % 2 == 0 ? "u2i" : "i2i"));
            }
            out.add(new RecallResult(userPrefix + "-u" + u, "v1", candidates, System.currentTimeMillis(), sourceEventTime));
        }
        return out;
    }

    static Impression impression(RecallResult user, int page, int position, long eventTime) {
        Candidate c = user.getCandidates().get((page * PAGE + position) % K);
        String request = user.getUserId() + "-p" + page;
        return new Impression(request + "-" + position, request, user.getUserId(), c.getItemId(), position, c.getChannel(),
                "v1", null, Map.of(), eventTime);
    }

    private KafkaProducer<String, byte[]> backlogProducer() {
        return KafkaTestIO.producer(stack.bootstrapServers(), Map.of(ProducerConfig.BATCH_SIZE_CONFIG, "262144",
                ProducerConfig.LINGER_MS_CONFIG, "20", ProducerConfig.BUFFER_MEMORY_CONFIG, String.valueOf(128L << 20)));
    }

    private <T extends org.apache.avro.specific.SpecificRecordBase> void produce(String topic, List<T> records,
                                                                                   java.util.function.Function<T, String> key) {
        try (KafkaProducer<String, byte[]> p = backlogProducer()) {
            for (T r : records) {
                p.send(new ProducerRecord<>(topic, null, System.currentTimeMillis(), key.apply(r), KafkaTestIO.encode(r)));
            }
            p.flush();
        }
    }

    private Map<String, Object> throughput(String prefix, List<RecallResult> users, long firstEventTime) throws Exception {
        String topic = Topic.IMPRESSIONS.name(prefix);
        long n = cfg.getLong(TP_IMPRESSIONS);
        long t = System.nanoTime();
        // Pages in rounds over the users: each user is shown page after page of its recall, as a feed scrolls.
        long sent = 0;
        try (KafkaProducer<String, byte[]> p = backlogProducer()) {
            for (int page = 0; sent < n; page++) {
                for (RecallResult user : users) {
                    for (int pos = 0; pos < PAGE && sent < n; pos++, sent++) {
                        Impression i = impression(user, page, pos, firstEventTime + sent / 10);
                        p.send(new ProducerRecord<>(topic, null, System.currentTimeMillis(), i.getUserId(), KafkaTestIO.encode(i)));
                    }
                }
            }
            p.flush();
        }
        double loadS = (System.nanoTime() - t) / 1e9;
        say(String.format(Locale.ROOT, "produced %,d impressions in %.1f s", sent, loadS));
        Thread.sleep(cfg.getLong(TP_SETTLE_S) * 1000);
        List<TopicPartition> tps = new ArrayList<>();
        for (int i = 0; i < cfg.getInt(PARTITIONS); i++) {
            tps.add(new TopicPartition(topic, i));
        }
        String group = prefix + DedupJob.NAME;
        Map<String, Object> rate;
        try (Admin admin = TopicAdmin.admin(stack.bootstrapServers())) {
            rate = BenchReport.drainRate(admin, group, tps, sent, cfg.getLong(TP_WINDOW_S), cfg.getLong(TP_MAX_WINDOW_S));
        }
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("impressions_per_s", rate.get("per_s"));
        r.put("r2", rate.get("r2"));
        r.put("window_s", rate.get("window_s"));
        r.put("backlog_impressions", sent);
        r.put("window_long_enough", rate.get("window_long_enough"));
        say("throughput: " + r);
        return r;
    }

    private record Sample(String userId, String itemId, long sentNanos, boolean measured) {}

    private Map<String, Object> latency(String prefix, JobClient job, List<RecallResult> users) throws Exception {
        String topic = Topic.IMPRESSIONS.name(prefix);
        int pagesPerSecond = Math.max(1, cfg.getInt(LAT_RATE) / PAGE);
        long loadNanos = cfg.getLong(LAT_SECONDS) * 1_000_000_000L;
        long discardNanos = cfg.getLong(LAT_DISCARD_S) * 1_000_000_000L;
        int every = cfg.getInt(LAT_SAMPLE_EVERY);
        long pollNanos = cfg.getLong(LAT_POLL_MS) * 1_000_000L;
        ConcurrentLinkedQueue<Sample> pending = new ConcurrentLinkedQueue<>();
        ConcurrentLinkedQueue<Long> latenciesMicros = new ConcurrentLinkedQueue<>();
        AtomicBoolean loading = new AtomicBoolean(true);
        QueryableStateReader reader = new QueryableStateReader(LocalFlinkCluster.HOST, stack.proxyPort());
        Thread poller = new Thread(() -> {
            while (loading.get() || !pending.isEmpty()) {
                int n = pending.size();
                for (int i = 0; i < n; i++) {
                    Sample s = pending.poll();
                    if (s == null) {
                        break;
                    }
                    try {
                        RecallResult r = reader.lookupOnce(job.getJobID(), s.userId(),
                                QueryableStates.recall(QueryableStates.FRESH_RECALL), Duration.ofSeconds(5));
                        boolean gone = r != null && r.getCandidates().stream().noneMatch(c -> c.getItemId().equals(s.itemId()));
                        if (gone) {
                            if (s.measured()) {
                                latenciesMicros.add((System.nanoTime() - s.sentNanos()) / 1000);
                            }
                            continue;
                        }
                    } catch (Exception e) {
                        // retry
                    }
                    if (System.nanoTime() - s.sentNanos() < TimeUnit.MINUTES.toNanos(2)) {
                        pending.add(s);
                    }
                }
                LockSupport.parkNanos(pollNanos);
            }
        }, "latency-poller");
        poller.setDaemon(true);
        poller.start();
        long pages = 0;
        long start = System.nanoTime();
        try (KafkaProducer<String, byte[]> p = KafkaTestIO.producer(stack.bootstrapServers())) {
            long intervalNanos = 1_000_000_000L / pagesPerSecond;
            long next = start;
            while (System.nanoTime() - start < loadNanos) {
                RecallResult user = users.get((int) (pages % users.size()));
                int page = (int) (pages / users.size());
                long eventTime = System.currentTimeMillis();
                long sentNanos = System.nanoTime();
                for (int pos = 0; pos < PAGE; pos++) {
                    Impression i = impression(user, page, pos, eventTime);
                    p.send(new ProducerRecord<>(topic, null, eventTime, i.getUserId(), KafkaTestIO.encode(i)));
                }
                if (pages % every == 0) {
                    pending.add(new Sample(user.getUserId(), impression(user, page, 0, eventTime).getItemId(), sentNanos,
                            sentNanos - start >= discardNanos));
                }
                pages++;
                next += intervalNanos;
                LockSupport.parkNanos(Math.max(0, next - System.nanoTime()));
            }
        }
        loading.set(false);
        poller.join(TimeUnit.MINUTES.toMillis(3));
        reader.close();
        double[] ms = latenciesMicros.stream().mapToDouble(v -> v / 1000.0).sorted().toArray();
        Map<String, Object> r = new LinkedHashMap<>();
        double seconds = (System.nanoTime() - start) / 1e9;
        r.put("offered_impressions_per_s", BenchReport.round(pages * PAGE / Math.min(seconds, loadNanos / 1e9), 0));
        r.put("samples", ms.length);
        r.put("samples_not_resolved", pending.size());
        r.put("p50_ms", BenchReport.round(BenchReport.percentile(ms, 0.5), 1));
        r.put("p90_ms", BenchReport.round(BenchReport.percentile(ms, 0.9), 1));
        r.put("p99_ms", BenchReport.round(BenchReport.percentile(ms, 0.99), 1));
        r.put("max_ms", ms.length == 0 ? 0 : BenchReport.round(ms[ms.length - 1], 1));
        say("latency: " + r);
        return r;
    }

    @Override
    public void close() {
        if (stack != null) {
            stack.close();
        }
    }
}
