package dev.streamrec.index.bench;

import static dev.streamrec.local.bench.BenchStack.say;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import org.apache.flink.configuration.MemorySize;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;

import dev.streamrec.avro.Candidate;
import dev.streamrec.avro.ItemEmbedding;
import dev.streamrec.avro.ItemStatus;
import dev.streamrec.avro.RecallResult;
import dev.streamrec.client.FlinkRestClient;
import dev.streamrec.client.Lookup;
import dev.streamrec.client.RecallClient;
import dev.streamrec.client.VertexMetrics;
import dev.streamrec.index.IndexJob;
import dev.streamrec.index.IndexOptions;
import dev.streamrec.index.ann.ClusteredVectors;
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
 * Deletes reaching the served recall: index-job on the local stack (real broker, MiniCluster, RocksDB, queryable
 * state) with {@code users} users holding recall; then batches of deletes of the items the most sampled users hold.
 * Delete-to-gone is the time from producing a delete until no sampled holder's recall (read through queryable state)
 * has the item any more; the cost of a batch is the merger's own {@code deleteBatchMillis} (one pass over its users).
 * At the end every user's last recall on the (read_committed) recall topic is checked against every deleted item.
 * Writes docs/bench/deletes.json and the "## deletes" section of docs/benchmarks.md. Started by {@code bin/bench-deletes}.
 */
public final class DeleteBenchmark implements BenchStack.Benchmark {
    static final Option USERS = Option.of("users", 100_000, "Users holding recall.");
    static final Option ITEMS = Option.of("items", 20_000, "Items indexed.");
    static final Option DIMENSION = Option.of("dimension", 32, "Vector dimension.");
    static final Option K = Option.of("k", 100, "recall.k.");
    static final Option BATCHES = Option.of("batches", 20, "Delete rounds.");
    static final Option DELETES_PER_BATCH = Option.of("deletes.per.batch", 5, "Items deleted per round.");
    static final Option ROUND_MS = Option.of("round.ms", 3000, "Time between the starts of two delete rounds.");
    static final Option SAMPLE = Option.of("sample", 2000, "Users whose recall is read through queryable state.");
    static final Option PARALLELISM = Option.of("parallelism", 2, "index-job parallelism.");
    static final Option SHARDS = Option.of("shards", 4, "index.shards.");
    static final Option PARTITIONS = Option.of("partitions", 4, "Partitions per topic.");
    static final Option CHECKPOINT_MS = Option.of("checkpoint.ms", 5000, "Checkpoint interval.");
    static final Option ITEM_BATCH_MS = Option.of("item.batch.ms", 500, "recall.item-batch.ms.");
    static final Option SLOTS = Option.of("slots", 4, "MiniCluster task slots.");
    static final Option MANAGED_MEMORY = Option.of("managed.memory", "1g", "MiniCluster managed memory (RocksDB).");
    static final Option WRITE_DOCS = Option.of("write.docs", true, "Write docs/bench/deletes.json and the docs/benchmarks.md section.");
    static final Option DOCS_DIR = Option.of("docs.dir", "docs", "Where the docs are.");
    static final List<Option> OPTIONS = List.of(USERS, ITEMS, DIMENSION, K, BATCHES, DELETES_PER_BATCH, ROUND_MS, SAMPLE,
            PARALLELISM, SHARDS, PARTITIONS, CHECKPOINT_MS, ITEM_BATCH_MS, SLOTS, MANAGED_MEMORY, WRITE_DOCS, DOCS_DIR);

    private final JobConfig cfg;
    private final String prefix = "bench-";
    private final ClusteredVectors data;
    private BenchStack stack;

    private DeleteBenchmark(JobConfig cfg) {
        this.cfg = cfg;
        this.data = ClusteredVectors.of(42, cfg.getInt(DIMENSION));
    }

    public static void main(String[] args) {
        BenchStack.main("delete-benchmark", OPTIONS, args, DeleteBenchmark::new);
    }

    @Override
    public void run() throws Exception {
        Map<String, Object> params = new LinkedHashMap<>();
        for (Option o : OPTIONS) {
            params.put(o.key(), cfg.get(o));
        }
        Map<String, Object> machine = BenchReport.machine();
        say("parameters: " + params + "; load " + machine.get("load_average_at_start"));
        int users = cfg.getInt(USERS);
        stack = BenchStack.start("delete-bench", cfg.getInt(SLOTS), MemorySize.parse(cfg.get(MANAGED_MEMORY)));
        FlinkRestClient rest = new FlinkRestClient(LocalFlinkCluster.HOST, stack.restPort());
        TopicAdmin.createPipelineTopics(stack.bootstrapServers(), prefix, cfg.getInt(PARTITIONS));
        Map<String, Object> results = new LinkedHashMap<>();

        try (KafkaProducer<String, byte[]> producer = KafkaTestIO.producer(stack.bootstrapServers(), Map.of(
                     ProducerConfig.LINGER_MS_CONFIG, 20, ProducerConfig.BATCH_SIZE_CONFIG, 262144,
                     ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, 1_800_000, ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, 300_000))) {
            int items = cfg.getInt(ITEMS);
            for (int i = 0; i < items; i++) {
                String id = ClusteredVectors.itemId(i);
                producer.send(new ProducerRecord<>(Topic.ITEM_EMBEDDINGS.name(prefix), id,
                        KafkaTestIO.encode(BenchRecords.item(id, "v1", data.vector(i)))));
            }
            producer.flush();
            JobClient job = JobSetup.submit(new IndexJob(), StreamExecutionEnvironment.createRemoteEnvironment(
                    LocalFlinkCluster.HOST, stack.restPort(), stack.flinkConfiguration()), jobConfig());
            String jobId = job.getJobID().toString();
            if (!TopicAdmin.awaitCommittedToEnd(stack.bootstrapServers(), prefix + IndexJob.NAME,
                    Topic.ITEM_EMBEDDINGS.name(prefix), Duration.ofMinutes(30))) {
                throw new IllegalStateException("index-job did not ingest the items within 30 minutes");
            }
            say("indexed " + items + " items");

            long start = System.nanoTime();
            long now = System.currentTimeMillis();
            for (int u = 0; u < users; u++) {
                String user = userId(u);
                producer.send(new ProducerRecord<>(Topic.USER_FEATURES.name(prefix), user,
                        KafkaTestIO.encode(BenchRecords.features(user, "v1", data.query(u), List.of(), now))));
            }
            producer.flush();
            awaitMetricSum(rest, jobId, "merge recall", ".recallResults", users, Duration.ofMinutes(60));
            say(String.format("%d users hold recall after %.0f s", users, (System.nanoTime() - start) / 1e9));

            try (RecallClient client = RecallClient.builder().rest(rest.baseUrl()).proxy(LocalFlinkCluster.HOST, stack.proxyPort())
                    .timeout(Duration.ofSeconds(30)).build()) {
                results.putAll(deleteRounds(client, producer, rest, jobId));
            }
            results.put("every_user_clean_on_recall_topic", everyUserClean(users));
        }
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("users", users);
        json.putAll(results);
        json.put("parameters", params);
        json.put("machine", machine);
        System.out.println("================ delete benchmark ================");
        System.out.println(BenchReport.toJson(json, ""));
        if (cfg.getBoolean(WRITE_DOCS)) {
            writeDocs(Path.of(cfg.get(DOCS_DIR)), json, machine);
        }
        if (!Boolean.TRUE.equals(results.get("every_user_clean_on_recall_topic"))) {
            throw new IllegalStateException("a deleted item is still in a user's last recall on the recall topic");
        }
    }

    private final Set<String> deleted = ConcurrentHashMap.newKeySet();

    /**
     * Rounds of deletes of the items most held by the sampled users; per delete, the time until no sampled holder
     * has it in their served recall. Returns the percentiles and the merger's cost per batch.
     */
    private Map<String, Object> deleteRounds(RecallClient client, KafkaProducer<String, byte[]> producer,
                                             FlinkRestClient rest, String jobId) throws Exception {
        int users = cfg.getInt(USERS);
        int sampleSize = Math.min(users, cfg.getInt(SAMPLE));
        List<String> sample = new ArrayList<>();
        SplittableRandom r = new SplittableRandom(7);
        Set<Integer> picked = new HashSet<>();
        while (sample.size() < sampleSize) {
            int u = r.nextInt(users);
            if (picked.add(u)) {
                sample.add(userId(u));
            }
        }
        Map<String, List<String>> holders = new HashMap<>();
        for (String user : sample) {
            Lookup<RecallResult> l = client.recall(user, Duration.ofSeconds(30));
            if (!l.found()) {
                throw new IllegalStateException("no recall for " + user + ": " + l.describe());
            }
            for (Candidate c : l.value().getCandidates()) {
                holders.computeIfAbsent(c.getItemId(), x -> new ArrayList<>()).add(user);
            }
        }
        List<String> byHolders = new ArrayList<>(holders.keySet());
        byHolders.sort((a, b) -> holders.get(b).size() - holders.get(a).size());
        int perBatch = cfg.getInt(DELETES_PER_BATCH);
        int rounds = Math.min(cfg.getInt(BATCHES), byHolders.size() / perBatch);

        ExecutorService pool = Executors.newFixedThreadPool(8);
        List<Double> goneMs = Collections.synchronizedList(new ArrayList<>());
        List<Integer> holderCounts = new ArrayList<>();
        try {
            for (int round = 0; round < rounds; round++) {
                long roundStart = System.nanoTime();
                List<String> batch = byHolders.subList(round * perBatch, (round + 1) * perBatch);
                long producedAt = System.nanoTime();
                for (String item : batch) {
                    ItemEmbedding delete = new ItemEmbedding(item, "v1", List.of(), null, List.of(), ItemStatus.DELETED,
                            System.currentTimeMillis());
                    producer.send(new ProducerRecord<>(Topic.ITEM_EMBEDDINGS.name(prefix), item, KafkaTestIO.encode(delete)));
                    deleted.add(item);
                }
                producer.flush();
                List<Future<Double>> waits = new ArrayList<>();
                for (String item : batch) {
                    holderCounts.add(holders.get(item).size());
                    waits.add(pool.submit(() -> goneFromAll(client, item, holders.get(item), producedAt)));
                }
                for (Future<Double> w : waits) {
                    goneMs.add(w.get());
                }
                say(String.format("round %d: %s gone after %s ms", round, batch,
                        goneMs.subList(goneMs.size() - batch.size(), goneMs.size())));
                long left = TimeUnit.MILLISECONDS.toNanos(cfg.getLong(ROUND_MS)) - (System.nanoTime() - roundStart);
                if (left > 0) {
                    TimeUnit.NANOSECONDS.sleep(left);
                }
            }
        } finally {
            pool.shutdownNow();
        }
        double[] gone = goneMs.stream().mapToDouble(d -> d).toArray();
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("deletes", gone.length);
        out.put("delete_to_gone_p50_ms", BenchReport.round(BenchReport.percentile(gone, 0.5), 0));
        out.put("delete_to_gone_p99_ms", BenchReport.round(BenchReport.percentile(gone, 0.99), 0));
        out.put("delete_to_gone_max_ms", BenchReport.round(BenchReport.percentile(gone, 1.0), 0));
        out.put("sampled_holders_per_delete_median", BenchReport.percentile(
                holderCounts.stream().mapToDouble(i -> i).toArray(), 0.5));
        // The REST metrics are served from a cache refreshed at most every 10 s: ask, wait, ask again.
        VertexMetrics.endingWith(rest, jobId, "merge recall", ".deleteBatchMillis_max");
        Thread.sleep(12_000);
        out.put("merger_batch_ms_median_max_over_subtasks",
                max(VertexMetrics.endingWith(rest, jobId, "merge recall", ".deleteBatchMillis_median")));
        out.put("merger_batch_ms_max", max(VertexMetrics.endingWith(rest, jobId, "merge recall", ".deleteBatchMillis_max")));
        out.put("merger_batches", sum(VertexMetrics.endingWith(rest, jobId, "merge recall", ".deleteBatches")));
        out.put("recalls_purged", sum(VertexMetrics.endingWith(rest, jobId, "merge recall", ".recallsPurgedOfDeletes")));
        say("deletes: " + out);
        return out;
    }

    /** Milliseconds from {@code producedAtNanos} until none of {@code holders} has {@code item} in their served recall. */
    private static double goneFromAll(RecallClient client, String item, List<String> holders, long producedAtNanos)
            throws Exception {
        List<String> left = new ArrayList<>(holders);
        long deadline = producedAtNanos + TimeUnit.MINUTES.toNanos(5);
        while (!left.isEmpty()) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException(item + " still held by " + left.size() + " users 5 minutes after its delete");
            }
            left.removeIf(user -> {
                Lookup<RecallResult> l = client.recall(user, Duration.ofSeconds(10));
                return l.found() && l.value().getCandidates().stream().noneMatch(c -> c.getItemId().equals(item));
            });
        }
        return (System.nanoTime() - producedAtNanos) / 1e6;
    }

    /** Every user's last recall on the recall topic (read_committed) is free of every deleted item. */
    private boolean everyUserClean(int users) throws Exception {
        Thread.sleep(2 * cfg.getLong(CHECKPOINT_MS) + 2000); // the last purges are committed with a checkpoint
        Map<String, RecallResult> last = new HashMap<>();
        for (RecallResult rr : KafkaTestIO.readToEnd(stack.bootstrapServers(), Topic.RECALL.name(prefix), RecallResult.class,
                Duration.ofMinutes(5))) {
            last.put(rr.getUserId(), rr);
        }
        long dirty = last.values().stream()
                .filter(rr -> rr.getCandidates().stream().anyMatch(c -> deleted.contains(c.getItemId()))).count();
        say(last.size() + " users on the recall topic, " + dirty + " still with a deleted item");
        return last.size() == users && dirty == 0;
    }

    private JobConfig jobConfig() {
        return IndexJobBenchmark.indexJobOnStack(stack, prefix, cfg.get(PARALLELISM), cfg.get(CHECKPOINT_MS), cfg.get(SHARDS),
                cfg.get(DIMENSION), "--" + IndexOptions.K.key(), cfg.get(K),
                "--" + IndexOptions.ITEM_BATCH_MS.key(), cfg.get(ITEM_BATCH_MS));
    }

    static String userId(int u) {
        return "bench-user-" + u;
    }

    private static void awaitMetricSum(FlinkRestClient rest, String jobId, String vertex, String suffix, long atLeast,
                                       Duration timeout) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        double seen = 0;
        while (System.nanoTime() < deadline) {
            seen = sum(VertexMetrics.endingWith(rest, jobId, vertex, suffix));
            if (seen >= atLeast) {
                return;
            }
            Thread.sleep(2000);
        }
        throw new IllegalStateException("waited " + timeout + " for " + vertex + suffix + " >= " + atLeast + ", saw " + seen);
    }

    private static double sum(List<Double> values) {
        return values.stream().mapToDouble(d -> d).sum();
    }

    private static double max(List<Double> values) {
        return values.stream().mapToDouble(d -> d).max().orElse(Double.NaN);
    }

    private void writeDocs(Path docs, Map<String, Object> json, Map<String, Object> machine) throws Exception {
        Map<String, Object> flat = new LinkedHashMap<>(json);
        flat.remove("machine");
        BenchReport.writeJson(docs, "deletes", json);
        StringBuilder s = BenchReport.sectionStart("deletes", BenchReport.now(),
                System.getProperty("bench.command", "bin/bench-deletes"), machine);
        s.append("Deletes reaching the served recall (issue 13): index-job with ").append(json.get("users"))
                .append(" users holding recall; each round deletes the items most held by the sampled users. ")
                .append("Delete-to-gone: from producing the delete until no sampled holder's recall (queryable state) ")
                .append("has it. Target: p99 at most 5 s at 100,000 users.\n\n");
        s.append("| figure | value |\n| --- | --- |\n");
        for (Map.Entry<String, Object> e : flat.entrySet()) {
            if (!(e.getValue() instanceof Map)) {
                s.append("| ").append(e.getKey()).append(" | ").append(e.getValue()).append(" |\n");
            }
        }
        BenchReport.replaceSection(docs.resolve("benchmarks.md"), "deletes", s.toString());
    }

    @Override
    public void close() {
        if (stack != null) {
            stack.close();
        }
    }
}
