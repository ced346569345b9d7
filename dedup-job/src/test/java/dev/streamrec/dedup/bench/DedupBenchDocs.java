package dev.streamrec.dedup.bench;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import dev.streamrec.local.bench.BenchReport;

/** Writes {@code docs/bench/dedup-job.json} and the {@code ## dedup-job} section of {@code docs/benchmarks.md}. */
final class DedupBenchDocs {
    static final double TARGET_THROUGHPUT = 50_000;
    static final double TARGET_BYTES = 1_000;
    static final double TARGET_P99_MS = 500;

    private DedupBenchDocs() {}

    /** The keys for one representation. */
    @SuppressWarnings("unchecked")
    static Map<String, Object> figures(Map<String, Object> rep) {
        Map<String, Object> tp = (Map<String, Object>) rep.get("throughput");
        Map<String, Object> lat = (Map<String, Object>) rep.get("latency");
        Map<String, Object> mem = (Map<String, Object>) rep.get("memory");
        Map<String, Object> f = new LinkedHashMap<>();
        f.put("impressions_per_s", tp.get("impressions_per_s"));
        f.put("bytes_per_user", mem.get("bytes_per_user"));
        f.put("false_positive_rate", mem.get("false_positive_rate"));
        f.put("impression_to_filtered_p99_ms", lat.get("p99_ms"));
        f.put("impression_to_filtered_p50_ms", lat.get("p50_ms"));
        f.put("serialized_bytes_per_user", mem.get("serialized_bytes_per_user"));
        return f;
    }

    @SuppressWarnings("unchecked")
    static void write(Path docs, Map<String, Object> results, List<String> reps, String command) throws IOException {
        Map<String, Map<String, Object>> byRep = (Map<String, Map<String, Object>>) results.get("representations");
        String chosen = reps.get(0);
        String other = reps.size() > 1 ? reps.get(1) : null;
        Map<String, Object> main = figures(byRep.get(chosen));
        String date = BenchReport.now();
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("representation", chosen);
        json.putAll(main);
        if (other != null) {
            Map<String, Object> alt = new LinkedHashMap<>();
            alt.put("representation", other);
            alt.putAll(figures(byRep.get(other)));
            json.put("alternative", alt);
        }
        json.put("date", date);
        json.put("command", command);
        json.put("targets", Map.of("impressions_per_s", TARGET_THROUGHPUT, "bytes_per_user", TARGET_BYTES,
                "false_positive_rate", 0.01, "impression_to_filtered_p99_ms", TARGET_P99_MS));
        json.putAll(results);
        BenchReport.writeJson(docs, "dedup-job", json);

        Map<String, Object> params = (Map<String, Object>) results.get("parameters");
        StringBuilder s = BenchReport.sectionStart("dedup-job", date, command, (Map<String, Object>) results.get("machine"));
        s.append(String.format(Locale.ROOT, "Setup: broker and MiniCluster on this machine, dedup-job parallelism %s, %s "
                        + "partitions, checkpoint every %s ms, exactly-once sink, RocksDB; the representations one after "
                        + "the other in one run, each on its own job and topics.%n%n",
                params.get("parallelism"), params.get("partitions"), params.get("checkpoint_interval_ms")));
        s.append("| figure | " + String.join(" | ", reps) + " | target |\n|---|" + "---|".repeat(reps.size()) + "---|\n");
        row(s, "impressions/s", "impressions_per_s", reps, byRep, "%,.0f", ">= 50,000");
        row(s, "bytes per user (RocksDB, 500 seen)", "bytes_per_user", reps, byRep, "%,.0f", "<= 1,000 (default)");
        row(s, "serialized bytes per user", "serialized_bytes_per_user", reps, byRep, "%,.0f", "");
        row(s, "false-positive rate", "false_positive_rate", reps, byRep, "%.4f", "<= 0.01");
        row(s, "impression to filtered p50 (ms)", "impression_to_filtered_p50_ms", reps, byRep, "%.1f", "");
        row(s, "impression to filtered p99 (ms)", "impression_to_filtered_p99_ms", reps, byRep, "%.1f", "<= 500");
        if (other != null) {
            double a = ((Number) figures(byRep.get(chosen)).get("impressions_per_s")).doubleValue();
            double b = ((Number) figures(byRep.get(other)).get("impressions_per_s")).doubleValue();
            double ma = ((Number) figures(byRep.get(chosen)).get("bytes_per_user")).doubleValue();
            double mb = ((Number) figures(byRep.get(other)).get("bytes_per_user")).doubleValue();
            s.append(String.format(Locale.ROOT, "%nRatios, %s / %s: throughput %.2fx, bytes per user %.3fx.%n", chosen, other,
                    a / b, ma / mb));
        }
        s.append(String.format(Locale.ROOT, "%nThroughput: %s users with a 200-candidate recall each (ingested first), then "
                        + "a backlog of impressions in pages of ten (one user's next ten candidates); the figure is the "
                        + "least-squares slope of the job's committed offsets on `impressions` over the window (committed "
                        + "at checkpoints, with the output transaction). Impression to filtered: %s impressions/s offered "
                        + "in pages with wall-clock event times, 1 in 25 pages timed from just before `producer.send` until "
                        + "a queryable-state lookup of the user's `fresh-recall` (every 5 ms) no longer holds the item; it "
                        + "includes the micro-batch delay (`dedup.batch.max-delay.ms`, 50 ms). Bytes per user: %s users "
                        + "with %s impressions each spread over the 7-day period, built with each representation, written "
                        + "to RocksDB keyed state with the job's serializer, then an incremental checkpoint: its size (the "
                        + "SST files) per user; the false-positive rate is measured on 100,000 lookups of unseen items "
                        + "against the exact truth, with zero false negatives checked.%n%n",
                params.get("throughput_users"), params.get("latency_rate"), params.get("memory_users"),
                params.get("memory_items_per_user")));
        s.append("Raw figures: [`docs/bench/dedup-job.json`](bench/dedup-job.json).\n");
        BenchReport.replaceSection(docs.resolve("benchmarks.md"), "dedup-job", s.toString());
    }

    private static void row(StringBuilder s, String label, String key, List<String> reps,
                            Map<String, Map<String, Object>> byRep, String format, String target) {
        s.append("| ").append(label).append(" | ");
        for (String rep : reps) {
            Object v = figures(byRep.get(rep)).get(key);
            s.append(v instanceof Number n ? String.format(Locale.ROOT, format, n.doubleValue()) : String.valueOf(v)).append(" | ");
        }
        s.append(target).append(" |\n");
    }
}
