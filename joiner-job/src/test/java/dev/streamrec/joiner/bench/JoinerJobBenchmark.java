package dev.streamrec.joiner.bench;

import static dev.streamrec.local.bench.BenchStack.say;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.Random;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.LockSupport;

import org.apache.flink.configuration.MemorySize;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.JsonNode;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

import dev.streamrec.avro.ActionType;
import dev.streamrec.avro.Impression;
import dev.streamrec.avro.TrainingExample;
import dev.streamrec.avro.UserAction;
import dev.streamrec.jobs.JobSetup;
import dev.streamrec.jobs.config.JobConfig;
import dev.streamrec.jobs.config.Option;
import dev.streamrec.joiner.JoinerJob;
import dev.streamrec.local.bench.BenchReport;
import dev.streamrec.local.bench.BenchStack;
import dev.streamrec.schemas.Topic;
import dev.streamrec.testkit.KafkaTestIO;
import dev.streamrec.testkit.LocalFlinkCluster;
import dev.streamrec.testkit.TopicAdmin;

/**
 * Benchmark (not a test) of joiner-job with its production defaults (one-hour window, six hours of allowed lateness,
 * r = 0.1) on the local stack (a real Kafka broker, a MiniCluster with RocksDB, the exactly-once sink). Run it with
 * {@code bin/bench-joiner-job}. Event time runs faster than the wall clock, so hour-long windows close during a
 * run of minutes; the job cannot tell.
 *
 * <p><b>State per open impression</b>: a job of its own reads impressions spanning 50 minutes of event time (no
 * window closes) with the actions in their windows; once its offsets are committed to the end, the next completed
 * checkpoint's full state size over the impressions held.
 *
 * <p><b>Throughput</b>: a backlog of impressions and actions (each topic in event-time order) over more than an
 * hour of event time, so windows close and examples are written while it drains; the figure is the least-squares
 * slope of the job's committed offsets on both inputs over at least {@code throughput.window.s}.
 *
 * <p><b>Emit delay</b>: on the same job once idle, a fixed offered rate whose event time advances
 * {@code latency.speedup} times the wall clock; a read_committed consumer takes, for every example, the time it
 * became readable minus its {@code joinedAt} (when the watermark passed the window's end at the join operator).
 */
public final class JoinerJobBenchmark implements BenchStack.Benchmark {
    static final Option PARTITIONS = Option.of("partitions", 2, "Partitions per topic.");
    static final Option PARALLELISM = Option.of("job.parallelism", 2, "joiner-job parallelism.");
    static final Option CHECKPOINT_MS = Option.of("job.checkpoint.interval.ms", 2000, "joiner-job checkpoint interval.");
    static final Option SLOTS = Option.of("slots", 2, "Task slots of the MiniCluster (one per join subtask: each gets its share of managed memory).");
    static final Option MANAGED_MEMORY = Option.of("managed.memory", "2g", "Managed memory (RocksDB block cache and write buffers) of the MiniCluster.");
    static final Option USERS = Option.of("users", 200000, "Users.");
    static final Option ITEMS = Option.of("items", 50000, "Items.");
    static final Option FEATURES = Option.of("features", 8, "Features in each impression's snapshot.");
    static final Option ACTION_SHARE = Option.of("action-share", 0.3, "Share of impressions a user acts on.");
    static final Option FP_IMPRESSIONS = Option.of("state.impressions", 1000000, "State: impressions (over 50 minutes of event time).");
    static final Option TP_IMPRESSIONS = Option.of("throughput.impressions", 4500000, "Throughput: impressions in the backlog (enough that it drains over more than the minimum window).");
    static final Option TP_SPACING_MS = Option.of("throughput.spacing.ms", 2, "Throughput: event time between impressions.");
    static final Option TP_WINDOW_S = Option.of("throughput.window.s", 60, "Throughput: minimum window.");
    static final Option TP_MAX_WINDOW_S = Option.of("throughput.max-window.s", 100, "Throughput: the window ends after this long.");
    static final Option LAT_RATE = Option.of("latency.rate", 10000, "Emit delay: offered impressions per second (plus their actions).");
    static final Option LAT_SPEEDUP = Option.of("latency.speedup", 60, "Emit delay: event time runs this many times the wall clock.");
    static final Option LAT_SECONDS = Option.of("latency.seconds", 90, "Emit delay: load duration.");
    static final Option LAT_DISCARD_S = Option.of("latency.discard.s", 10, "Emit delay: examples joined in the first seconds are discarded.");
    static final Option JOB_ARGS = Option.of("job.args", "", "More joiner-job options, space separated (e.g. \"--joiner.allowed-lateness.ms 0\"), to measure a setting; recorded in the parameters.");
    static final Option WRITE_DOCS = Option.of("write.docs", true, "Write docs/bench/joiner-job.json and the docs/benchmarks.md section.");
    static final Option DOCS_DIR = Option.of("docs.dir", "docs", "Where the docs are.");
    static final List<Option> OPTIONS = List.of(PARTITIONS, PARALLELISM, CHECKPOINT_MS, SLOTS, MANAGED_MEMORY, USERS, ITEMS,
            FEATURES, ACTION_SHARE, FP_IMPRESSIONS, TP_IMPRESSIONS, TP_SPACING_MS, TP_WINDOW_S, TP_MAX_WINDOW_S, LAT_RATE,
            LAT_SPEEDUP, LAT_SECONDS, LAT_DISCARD_S, JOB_ARGS, WRITE_DOCS, DOCS_DIR);

    static final long WINDOW = 3_600_000L;
    static final double TARGET_EVENTS_PER_S = 50_000;
    static final double TARGET_BYTES = 400;
    static final double EXTRA_DELAY_MS = 1_000;

    private final JobConfig cfg;
    private final Map<String, Object> results = new LinkedHashMap<>();
    private final ObjectMapper json = new ObjectMapper();
    private BenchStack stack;

    private JoinerJobBenchmark(JobConfig cfg) {
        this.cfg = cfg;
    }

    public static void main(String[] args) {
        BenchStack.main("joiner-job-benchmark", OPTIONS, args, JoinerJobBenchmark::new);
    }

    /**
     * Impressions one after another in event time, and the actions on them merged in by their own event time: a
     * share of impressions gets one action (mostly a click) within the window, a few a positive after it.
     */
    final class Events {
        private final Random random;
        private final PriorityQueue<UserAction> actions =
                new PriorityQueue<>((a, b) -> Long.compare(a.getEventTime(), b.getEventTime()));
        private final String run;
        private long next;
        long impressions;
        long actionsSent;

        Events(String run, long seed) {
            this.run = run;
            this.random = new Random(seed);
        }

        /** Sends impressions (and the actions due by their times) with event times from {@code time}, spaced. */
        long send(KafkaProducer<String, byte[]> p, String prefix, long count, long time, double spacingMs) {
            int features = cfg.getInt(FEATURES);
            String[] names = {"ctr", "cvr", "score", "age_h", "pos_ctr", "u_ctr", "i_pop", "sim", "dwell", "fresh"};
            for (long k = 0; k < count; k++) {
                long t = time + (long) (k * spacingMs);
                flushActions(p, prefix, t);
                String user = "u" + random.nextInt(cfg.getInt(USERS));
                String item = "i" + random.nextInt(cfg.getInt(ITEMS));
                String request = run + "-r" + next / 10;
                Map<String, Double> snapshot = new LinkedHashMap<>();
                for (int f = 0; f < features; f++) {
                    snapshot.put(names[f % names.length] + (f < names.length ? "" : f), (double) Math.round(random.nextDouble() * 1000) / 1000);
                }
                Impression i = new Impression(request + "-" + (next % 10), request, user, item, (int) (next % 10),
                        random.nextBoolean() ? "u2i" : "i2i", "v1", null, snapshot, t);
                next++;
                impressions++;
                p.send(new ProducerRecord<>(Topic.IMPRESSIONS.name(prefix), null, System.currentTimeMillis(), user, KafkaTestIO.encode(i)));
                if (random.nextDouble() < cfg.getDouble(ACTION_SHARE)) {
                    boolean late = random.nextDouble() < 0.05;
                    long delay = late ? WINDOW + random.nextInt(3_600_000) : 1_000 + random.nextInt(3_000_000);
                    ActionType type = random.nextDouble() < 0.7 ? ActionType.CLICK : ActionType.VIEW;
                    actions.add(new UserAction(i.getImpressionId() + "-a", user, item, type, 1.0, t + delay,
                            random.nextBoolean() ? request : null));
                }
            }
            return time + (long) (count * spacingMs);
        }

        /** Sends the actions due by {@code time}. */
        void flushActions(KafkaProducer<String, byte[]> p, String prefix, long time) {
            while (!actions.isEmpty() && actions.peek().getEventTime() <= time) {
                UserAction a = actions.poll();
                actionsSent++;
                p.send(new ProducerRecord<>(Topic.USER_ACTIONS.name(prefix), null, System.currentTimeMillis(), a.getUserId(),
                        KafkaTestIO.encode(a)));
            }
        }
    }

    @Override
    public void run() throws Exception {
        results.put("machine", BenchReport.machine());
        say("machine: " + results.get("machine"));
        Map<String, Object> params = new LinkedHashMap<>();
        for (Option o : OPTIONS) {
            if (o != WRITE_DOCS && o != DOCS_DIR) {
                params.put(o.key(), cfg.get(o));
            }
        }
        results.put("parameters", params);
        stack = BenchStack.start("joiner-bench", cfg.getInt(SLOTS), MemorySize.parse(cfg.get(MANAGED_MEMORY)));
        long start = System.currentTimeMillis() - 6 * WINDOW;
        results.put("state", state(start));
        results.put("throughput", throughputAndDelay(start));
        stack.close();
        stack = null;
        say("results: " + BenchReport.toJson(results, ""));
        if (cfg.getBoolean(WRITE_DOCS)) {
            writeDocs(Path.of(cfg.get(DOCS_DIR)), System.getProperty("bench.command", "bin/bench-joiner-job"));
        }
    }

    private KafkaProducer<String, byte[]> producer() {
        return KafkaTestIO.producer(stack.bootstrapServers(), Map.of(ProducerConfig.BATCH_SIZE_CONFIG, "262144",
                ProducerConfig.LINGER_MS_CONFIG, "20", ProducerConfig.BUFFER_MEMORY_CONFIG, String.valueOf(128L << 20)));
    }

    private JobClient startJob(String prefix) throws Exception {
        TopicAdmin.createPipelineTopics(stack.bootstrapServers(), prefix, cfg.getInt(PARTITIONS));
        List<String> args = new ArrayList<>(List.of("--bootstrap.servers", stack.bootstrapServers(), "--topic.prefix", prefix,
                "--parallelism", cfg.get(PARALLELISM), "--checkpoint.interval.ms", cfg.get(CHECKPOINT_MS),
                "--source.starting-offsets", "earliest"));
        String more = cfg.get(JOB_ARGS).trim();
        if (!more.isEmpty()) {
            args.addAll(List.of(more.split("\\s+")));
        }
        JobConfig jobConfig = new JoinerJob().parseConfig(args.toArray(new String[0]));
        StreamExecutionEnvironment env = StreamExecutionEnvironment.createRemoteEnvironment(LocalFlinkCluster.HOST,
                stack.restPort(), stack.flinkConfiguration());
        JobClient client = JobSetup.submit(new JoinerJob(), env, jobConfig);
        say("submitted joiner-job " + client.getJobID() + " (" + String.join(" ", args) + ")");
        return client;
    }

    private List<TopicPartition> inputs(String prefix) {
        List<TopicPartition> tps = new ArrayList<>();
        for (Topic t : List.of(Topic.IMPRESSIONS, Topic.USER_ACTIONS)) {
            for (int i = 0; i < cfg.getInt(PARTITIONS); i++) {
                tps.add(new TopicPartition(t.name(prefix), i));
            }
        }
        return tps;
    }

    private JsonNode latestCheckpoint(JobClient job) throws Exception {
        HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://"
                + LocalFlinkCluster.HOST + ":" + stack.restPort() + "/jobs/" + job.getJobID() + "/checkpoints")).build(),
                HttpResponse.BodyHandlers.ofString());
        return json.readTree(r.body()).path("latest").path("completed");
    }

    private Map<String, Object> state(long start) throws Exception {
        String prefix = "state-";
        JobClient job = startJob(prefix);
        Events events = new Events("s", 1);
        long n = cfg.getLong(FP_IMPRESSIONS);
        try (KafkaProducer<String, byte[]> p = producer()) {
            long end = events.send(p, prefix, n, start, 50 * 60_000.0 / n);
            events.flushActions(p, prefix, end);
            p.flush();
        }
        say(String.format(Locale.ROOT, "state: produced %,d impressions and %,d actions over 50 minutes of event time",
                events.impressions, events.actionsSent));
        String group = prefix + JoinerJob.NAME;
        for (TopicPartition tp : inputs(prefix).stream().filter(t -> t.partition() == 0).toList()) {
            if (!TopicAdmin.awaitCommittedToEnd(stack.bootstrapServers(), group, tp.topic(), Duration.ofMinutes(10))) {
                throw new IllegalStateException(tp.topic() + " not committed to its end within 10 minutes");
            }
        }
        long drained = latestCheckpoint(job).path("id").asLong();
        JsonNode checkpoint = latestCheckpoint(job);
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(2);
        while (checkpoint.path("id").asLong() <= drained && System.nanoTime() < deadline) {
            Thread.sleep(200);
            checkpoint = latestCheckpoint(job);
        }
        long bytes = checkpoint.path("state_size").asLong();
        job.cancel().get(2, TimeUnit.MINUTES);
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("open_impressions", events.impressions);
        r.put("actions_joined", events.actionsSent);
        r.put("checkpoint_state_bytes", bytes);
        r.put("state_bytes_per_open_impression", BenchReport.round((double) bytes / events.impressions, 1));
        say("state: " + r);
        return r;
    }

    private Map<String, Object> throughputAndDelay(long start) throws Exception {
        String prefix = "tp-";
        JobClient job = startJob(prefix);
        Events events = new Events("t", 2);
        long n = cfg.getLong(TP_IMPRESSIONS);
        long t0 = System.nanoTime();
        long eventTime;
        try (KafkaProducer<String, byte[]> p = producer()) {
            eventTime = events.send(p, prefix, n, start, cfg.getDouble(TP_SPACING_MS));
            p.flush();
        }
        long sent = events.impressions + events.actionsSent;
        say(String.format(Locale.ROOT, "throughput: produced %,d impressions and %,d actions (%.0f minutes of event time) in %.1f s",
                events.impressions, events.actionsSent, n * cfg.getDouble(TP_SPACING_MS) / 60_000, (System.nanoTime() - t0) / 1e9));
        String group = prefix + JoinerJob.NAME;
        Map<String, Object> rate;
        try (Admin admin = TopicAdmin.admin(stack.bootstrapServers())) {
            rate = BenchReport.drainRate(admin, group, inputs(prefix), sent, cfg.getLong(TP_WINDOW_S), cfg.getLong(TP_MAX_WINDOW_S));
        }
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("events_per_s", rate.get("per_s"));
        r.put("r2", rate.get("r2"));
        r.put("window_s", rate.get("window_s"));
        r.put("backlog_events", sent);
        r.put("window_long_enough", rate.get("window_long_enough"));
        r.put("cpu", rate.get("cpu"));
        say("throughput: " + r);
        r.put("emit_delay", emitDelay(prefix, events, eventTime));
        job.cancel().get(2, TimeUnit.MINUTES);
        return r;
    }

    private Map<String, Object> emitDelay(String prefix, Events events, long eventTime) throws Exception {
        ConcurrentLinkedQueue<Long> delays = new ConcurrentLinkedQueue<>();
        AtomicBoolean reading = new AtomicBoolean(true);
        long measureFrom = System.currentTimeMillis() + cfg.getLong(LAT_DISCARD_S) * 1000;
        String topic = Topic.TRAINING_EXAMPLES.name(prefix);
        Thread reader = new Thread(() -> {
            try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(KafkaTestIO.consumerProperties(stack.bootstrapServers()),
                    new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
                List<TopicPartition> tps = new ArrayList<>();
                for (int i = 0; i < cfg.getInt(PARTITIONS); i++) {
                    tps.add(new TopicPartition(topic, i));
                }
                consumer.assign(tps);
                consumer.seekToEnd(tps);
                tps.forEach(consumer::position);
                while (reading.get()) {
                    for (ConsumerRecord<byte[], byte[]> rec : consumer.poll(Duration.ofMillis(20))) {
                        long now = System.currentTimeMillis();
                        TrainingExample e = KafkaTestIO.decode(TrainingExample.class, rec.value());
                        if (e.getJoinedAt() >= measureFrom) {
                            delays.add(now - e.getJoinedAt());
                        }
                    }
                }
            }
        }, "emit-delay-reader");
        reader.setDaemon(true);
        reader.start();
        Thread.sleep(2000);
        int rate = cfg.getInt(LAT_RATE);
        double spacing = (double) cfg.getInt(LAT_SPEEDUP) * 1000 / rate;   // event-time ms between impressions
        long begin = System.nanoTime();
        long batches = 0;
        int perBatch = Math.max(1, rate / 100);                             // sent every 10 ms
        try (KafkaProducer<String, byte[]> p = KafkaTestIO.producer(stack.bootstrapServers())) {
            while (System.nanoTime() - begin < cfg.getLong(LAT_SECONDS) * 1_000_000_000L) {
                eventTime = events.send(p, prefix, perBatch, eventTime, spacing);
                batches++;
                LockSupport.parkNanos(Math.max(0, begin + batches * 10_000_000L - System.nanoTime()));
            }
        }
        double seconds = (System.nanoTime() - begin) / 1e9;
        Thread.sleep(cfg.getLong(CHECKPOINT_MS) * 3);
        reading.set(false);
        reader.join(TimeUnit.SECONDS.toMillis(30));
        double[] ms = delays.stream().mapToDouble(Long::doubleValue).sorted().toArray();
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("offered_impressions_per_s", BenchReport.round(batches * perBatch / seconds, 0));
        r.put("event_time_speedup", cfg.getInt(LAT_SPEEDUP));
        r.put("examples_measured", ms.length);
        r.put("p50_ms", BenchReport.round(BenchReport.percentile(ms, 0.5), 1));
        r.put("p90_ms", BenchReport.round(BenchReport.percentile(ms, 0.9), 1));
        r.put("p99_ms", BenchReport.round(BenchReport.percentile(ms, 0.99), 1));
        r.put("max_ms", ms.length == 0 ? 0 : BenchReport.round(ms[ms.length - 1], 1));
        say("emit delay: " + r);
        return r;
    }

    @SuppressWarnings("unchecked")
    private void writeDocs(Path docs, String command) throws Exception {
        Map<String, Object> state = (Map<String, Object>) results.get("state");
        Map<String, Object> tp = (Map<String, Object>) results.get("throughput");
        Map<String, Object> delay = (Map<String, Object>) tp.get("emit_delay");
        double delayTarget = cfg.getLong(CHECKPOINT_MS) + EXTRA_DELAY_MS;
        String date = BenchReport.now();
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("events_per_s", tp.get("events_per_s"));
        out.put("state_bytes_per_open_impression", state.get("state_bytes_per_open_impression"));
        out.put("emit_delay_p99_ms", delay.get("p99_ms"));
        out.put("emit_delay_p50_ms", delay.get("p50_ms"));
        out.put("date", date);
        out.put("command", command);
        out.put("targets", Map.of("events_per_s", TARGET_EVENTS_PER_S, "state_bytes_per_open_impression", TARGET_BYTES,
                "emit_delay_p99_ms", delayTarget));
        out.putAll(results);
        BenchReport.writeJson(docs, "joiner-job", out);

        StringBuilder s = BenchReport.sectionStart("joiner-job", date, command, (Map<String, Object>) results.get("machine"));
        String jobArgs = cfg.get(JOB_ARGS).trim();
        s.append(String.format(Locale.ROOT, "Setup: broker and MiniCluster on this machine, joiner-job with its defaults "
                + (jobArgs.isEmpty() ? "" : "and `" + jobArgs.replace("%", "%%") + "` ")
                + "(one-hour window, six hours of allowed lateness, negatives kept at r = 0.1), parallelism %s, %s "
                + "partitions, checkpoint every %s ms, exactly-once sink, RocksDB; %s-feature snapshots, %s of "
                + "impressions acted on (5%% of those after the window).%n%n",
                cfg.get(PARALLELISM), cfg.get(PARTITIONS), cfg.get(CHECKPOINT_MS), cfg.get(FEATURES), cfg.get(ACTION_SHARE)));
        s.append("| figure | measured | target |\n|---|---|---|\n");
        s.append(String.format(Locale.ROOT, "| events/s (impressions + actions) | %,.0f (over %.0f s, r² %.3f) | >= 50,000 |%n",
                num(tp.get("events_per_s")), num(tp.get("window_s")), num(tp.get("r2"))));
        s.append(String.format(Locale.ROOT, "| state bytes per open impression | %,.0f | <= 400 |%n",
                num(state.get("state_bytes_per_open_impression"))));
        s.append(String.format(Locale.ROOT, "| emit delay p50 (ms) | %,.0f | |%n", num(delay.get("p50_ms"))));
        s.append(String.format(Locale.ROOT, "| emit delay p99 (ms) | %,.0f | <= %,.0f (checkpoint interval + 1 s) |%n",
                num(delay.get("p99_ms")), delayTarget));
        s.append(String.format(Locale.ROOT, "%nThroughput: a backlog of %,.0f events (%,d impressions, one every %s ms of "
                + "event time, and their actions, each topic in event-time order), so hour-long windows close while it "
                + "drains; the figure is the least-squares slope of the job's committed offsets on both inputs "
                + "(committed at checkpoints, with the output transaction). State: %,.0f impressions over 50 minutes of "
                + "event time (all windows open) and the %,.0f actions in them, read by a job of their own; the full state "
                + "size of the first checkpoint completed after its offsets reached the end (RocksDB SST files of the "
                + "join state, plus the sources' and sink's state), over the impressions. Emit delay: on the "
                + "throughput job once drained, %,.0f impressions/s offered with event time running %s times the wall "
                + "clock; for each of %,.0f examples, when a read_committed consumer received it minus its `joinedAt` "
                + "(the join operator's clock when the watermark passed the window's end). An example waits for the "
                + "checkpoint that commits its transaction: the delay is up to one checkpoint interval plus the "
                + "checkpoint's own time.%n%n", num(tp.get("backlog_events")), cfg.getLong(TP_IMPRESSIONS),
                cfg.get(TP_SPACING_MS), num(state.get("open_impressions")), num(state.get("actions_joined")),
                num(delay.get("offered_impressions_per_s")), cfg.get(LAT_SPEEDUP), num(delay.get("examples_measured"))));
        s.append("Where the CPU went while the backlog drained (every thread of the benchmark's JVM and of the broker's, "
                + "from Linux's schedstat, names as Linux keeps them, cut at 15 characters; run-queue wait is time a thread "
                + "was ready but had no core):\n\n");
        s.append(BenchReport.cpuTable((Map<String, Object>) tp.get("cpu")));
        s.append("\nRaw figures: [`docs/bench/joiner-job.json`](bench/joiner-job.json).\n");
        BenchReport.replaceSection(docs.resolve("benchmarks.md"), "joiner-job", s.toString());
    }

    private static double num(Object o) {
        return o instanceof Number n ? n.doubleValue() : Double.NaN;
    }

    @Override
    public void close() {
        if (stack != null) {
            stack.close();
        }
    }
}
