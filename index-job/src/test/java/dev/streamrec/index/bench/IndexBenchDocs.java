package dev.streamrec.index.bench;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

import dev.streamrec.local.bench.BenchReport;

/** Writes {@code docs/bench/index-job.json} and the {@code ## index-job} section of {@code docs/benchmarks.md}. */
final class IndexBenchDocs {
    static final double TARGET_BUILD_RATIO = 0.70;
    static final double TARGET_RECALL = 0.95;
    static final double TARGET_QS_P99_MS = 5;
    static final double TARGET_QS_RATE = 2000;
    static final double TARGET_RESTORE_S = 60;

    private IndexBenchDocs() {}

    @SuppressWarnings("unchecked")
    static void write(Path docs, Map<String, Object> results, String command) throws IOException {
        Map<String, Object> params = (Map<String, Object>) results.get("parameters");
        Map<String, Object> machine = (Map<String, Object>) results.get("machine");
        Map<String, Object> standalone = (Map<String, Object>) results.getOrDefault("standalone", Map.of());
        Map<String, Object> brute = (Map<String, Object>) standalone.getOrDefault("brute_force", Map.of());
        Map<String, Object> raw = (Map<String, Object>) standalone.getOrDefault("raw_hnswlib", Map.of());
        Map<String, Object> flink = (Map<String, Object>) results.get("flink");
        String date = BenchReport.now();

        double ratio = raw.containsKey("build_items_per_s")
                ? num(flink, "build_items_per_s") / num(raw, "build_items_per_s") : Double.NaN;
        double cpuRatio = raw.containsKey("build_items_per_cpu_s")
                ? num(flink, "build_items_per_cpu_s") / num(raw, "build_items_per_cpu_s") : Double.NaN;
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("items", ((Number) Integer.valueOf(String.valueOf(params.get("items")))).longValue());
        json.put("build_rate_ratio_vs_raw_hnsw", BenchReport.round(ratio, 3));
        json.put("build_rate_per_cpu_ratio_vs_raw_hnsw", BenchReport.round(cpuRatio, 3));
        json.put("recall_at_10", flink.get("recall_at_10"));
        json.put("recall_latency_p99_ms", flink.get("recall_latency_p99_ms"));
        json.put("qs_lookup_p99_ms", flink.get("qs_lookup_p99_ms"));
        json.put("qs_lookups_per_s", flink.get("qs_lookups_per_s"));
        json.put("restore_s", flink.get("restore_s"));
        json.put("date", date);
        json.put("command", command);
        json.put("targets", Map.of("build_rate_ratio_vs_raw_hnsw", TARGET_BUILD_RATIO, "recall_at_10", TARGET_RECALL,
                "qs_lookup_p99_ms", TARGET_QS_P99_MS, "qs_lookups_per_s", TARGET_QS_RATE, "restore_s", TARGET_RESTORE_S));
        json.putAll(results);
        BenchReport.writeJson(docs, "index-job", json);

        StringBuilder s = BenchReport.sectionStart("index-job", date, command, machine);
        s.append(String.format(Locale.ROOT, "Data: %,d items, %s-d vectors around 256 random centroids (`ClusteredVectors`, "
                        + "seed %s); %s query vectors from the same distribution; recall@10 is against the exact top-10 over "
                        + "all items. (c) runs index-job with parallelism %s, %s shards, %s partitions per topic, RocksDB, "
                        + "checkpoints every %s ms, on a MiniCluster in this JVM with a Kafka broker in a child JVM.%n%n",
                Long.parseLong(String.valueOf(params.get("items"))), params.get("dimension"), params.get("seed"),
                params.get("queries"), params.get("parallelism"), params.get("shards"), params.get("partitions"),
                params.get("checkpoint.ms")));
        s.append("| | build rate (items/s) | recall@10 | recall latency p50 / p99 (ms) | memory per item (heap bytes) |\n");
        s.append("|---|---|---|---|---|\n");
        if (!brute.isEmpty()) {
            s.append(row("(a) brute force", brute, "exact scan, top-200"));
        }
        if (!raw.isEmpty()) {
            s.append(row("(b) one raw hnswlib-core index", raw, "one search, top-200"));
        }
        s.append(String.format(Locale.ROOT, "| (c) index-job in Flink (RocksDB) | %,.0f | %.4f | %s / %s (user-features record "
                        + "produced → recall visible in queryable state; shards' own search p50 / p99 ≤ %s / %s) | %s |%n%n",
                num(flink, "build_items_per_s"), num(flink, "recall_at_10"), flink.get("recall_latency_p50_ms"),
                flink.get("recall_latency_p99_ms"), flink.get("shard_search_p50_ms_max_over_shards"),
                flink.get("shard_search_p99_ms_max_over_shards"), flink.get("heap_bytes_per_item")));
        s.append("| target | measured | |\n|---|---|---|\n");
        s.append(check("build rate of (c) vs (b), same run", String.format(Locale.ROOT, "%.2f (per CPU second: %.2f; (c) "
                        + "runs %s subtasks, (b) one thread)", ratio, cpuRatio, params.get("parallelism")), ">= 0.70",
                ratio >= TARGET_BUILD_RATIO));
        s.append(check("recall@10 of (c)", String.valueOf(flink.get("recall_at_10")), ">= 0.95",
                num(flink, "recall_at_10") >= TARGET_RECALL));
        s.append(check("queryable-state lookup p99", flink.get("qs_lookup_p99_ms") + " ms at " + flink.get("qs_paced_achieved_per_s")
                        + " lookups/s paced (" + flink.get("qs_threads") + " threads); closed loop: " + flink.get("qs_lookups_per_s")
                        + " lookups/s, p50 / p99 " + flink.get("qs_closed_loop_p50_ms") + " / " + flink.get("qs_closed_loop_p99_ms")
                        + " ms", "<= 5 ms at >= 2,000/s",
                num(flink, "qs_lookup_p99_ms") <= TARGET_QS_P99_MS && num(flink, "qs_paced_achieved_per_s") >= TARGET_QS_RATE * 0.98));
        s.append(check("restore (savepoint → first recall answered)", flink.get("restore_s") + " s (slowest shard load "
                        + flink.get("shard_load_ms_max") + " ms; savepoint took " + flink.get("savepoint_s") + " s)",
                "<= 60 s", num(flink, "restore_s") <= TARGET_RESTORE_S));
        s.append("\nBuild rate of (c): items already in `item-embeddings`, job started, until its committed offsets reach the end "
                + "(decode, validate, RocksDB writes and HNSW inserts on every shard). Restore: the job is stopped with a "
                + "savepoint once every shard's snapshot is current, resubmitted from it, and timed until a new recall is "
                + "answered through queryable state (job start plus every shard loading its snapshot and reconciling it "
                + "with its items).\n\n");
        s.append("Raw figures: [`docs/bench/index-job.json`](bench/index-job.json).\n");
        BenchReport.replaceSection(docs.resolve("benchmarks.md"), "index-job", s.toString());
    }

    private static String row(String name, Map<String, Object> m, String what) {
        return String.format(Locale.ROOT, "| %s | %,.0f | %.4f | %s / %s (%s) | %s |%n", name, num(m, "build_items_per_s"),
                num(m, "recall_at_10"), m.get("search_p50_ms"), m.get("search_p99_ms"), what, m.get("bytes_per_item"));
    }

    private static String check(String what, String measured, String target, boolean met) {
        return "| " + what + " " + target + " | " + measured + " | " + (met ? "met" : "**not met**") + " |\n";
    }

    private static double num(Map<String, Object> m, String key) {
        Object v = m.get(key);
        return v instanceof Number n ? n.doubleValue() : Double.NaN;
    }
}
