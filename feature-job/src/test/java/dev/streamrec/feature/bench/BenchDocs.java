package dev.streamrec.feature.bench;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

import dev.streamrec.local.bench.BenchReport;

/** Writes {@code docs/bench/feature-job.json} and the {@code ## feature-job} section of {@code docs/benchmarks.md}. */
final class BenchDocs {
    static final double TARGET_THROUGHPUT = 30_000;
    static final double TARGET_P99_MS = 1_000;

    private BenchDocs() {}

    @SuppressWarnings("unchecked")
    static void write(Path docs, Map<String, Object> results, String command) throws IOException {
        Map<String, Object> tp = (Map<String, Object>) results.get("throughput");
        Map<String, Object> fr = (Map<String, Object>) results.get("freshness");
        Map<String, Object> machine = (Map<String, Object>) results.get("machine");
        String date = BenchReport.now();

        Map<String, Object> json = new LinkedHashMap<>();
        json.put("throughput_actions_per_s", tp.get("actions_per_s"));
        json.put("freshness_p50_ms", fr.get("p50_ms"));
        json.put("freshness_p99_ms", fr.get("p99_ms"));
        json.put("freshness_p90_ms", fr.get("p90_ms"));
        json.put("freshness_max_ms", fr.get("max_ms"));
        json.put("freshness_samples", fr.get("samples"));
        json.put("throughput_window_s", tp.get("window_s"));
        json.put("throughput_cpu_us_per_action", Math.round(cpuMicrosPerAction((Map<String, Object>) tp.get("cpu"),
                ((Number) tp.get("actions_per_s")).doubleValue()) * 10) / 10.0);
        json.put("date", date);
        json.put("command", command);
        json.put("targets", Map.of("throughput_actions_per_s", TARGET_THROUGHPUT, "freshness_p99_ms", TARGET_P99_MS));
        json.putAll(results);
        BenchReport.writeJson(docs, "feature-job", json);

        double thr = ((Number) tp.get("actions_per_s")).doubleValue();
        double p99 = ((Number) fr.get("p99_ms")).doubleValue();
        Map<String, Object> tpCpu = (Map<String, Object>) tp.get("cpu");
        Map<String, Object> params = (Map<String, Object>) results.get("parameters");
        StringBuilder s = BenchReport.sectionStart("feature-job", date, command, machine);
        s.append(String.format(Locale.ROOT, "Setup: broker and MiniCluster on this machine, feature-job parallelism %s, "
                        + "%s partitions per topic, checkpoint every %s ms, exactly-once sink, RocksDB, %s users, %s items.%n%n",
                params.get("parallelism"), params.get("partitions"), params.get("checkpoint_interval_ms"),
                params.get("users"), params.get("items")));
        s.append("| figure | measured | target | |\n|---|---|---|---|\n");
        s.append(String.format(Locale.ROOT, "| throughput | %,.0f actions/s (window %s s, R² %s) | >= 30,000 actions/s | %s |%n",
                thr, tp.get("window_s"), tp.get("r2"), thr >= TARGET_THROUGHPUT ? "met" : "**not met**"));
        s.append(String.format(Locale.ROOT, "| freshness p50 | %s ms | | |%n", fr.get("p50_ms")));
        s.append(String.format(Locale.ROOT, "| freshness p90 | %s ms | | |%n", fr.get("p90_ms")));
        s.append(String.format(Locale.ROOT, "| freshness p99 | %s ms | <= 1,000 ms | %s |%n", fr.get("p99_ms"),
                p99 <= TARGET_P99_MS ? "met" : "**not met**"));
        s.append(String.format(Locale.ROOT, "| freshness max | %s ms | | |%n%n", fr.get("max_ms")));
        s.append(String.format(Locale.ROOT, "Throughput: a backlog of synthetic actions is loaded into `user-actions` while "
                        + "the job runs, then the job's committed offsets (committed at each checkpoint, so the actions' "
                        + "features are in a committed transaction) are sampled every second; the figure is the least-squares "
                        + "slope over the window, starting %s s after the load finished. Rates per 10 s: %s. CPU during the "
                        + "window (cores): Flink JVM %s, broker %s, other processes %s; that is %.0f µs of Flink and broker CPU "
                        + "per action (less sensitive to other processes than the rate: compare this between runs).%n%n",
                tp.get("settle_s"), tp.get("per_10s_rates"), tpCpu.get("flink_jvm_cores"), tpCpu.get("broker_jvm_cores"),
                tpCpu.get("other_processes_cores"), cpuMicrosPerAction(tpCpu, thr)));
        s.append(String.format(Locale.ROOT, "Freshness: %s actions/s offered with wall-clock event times for %s s (first %s s "
                        + "discarded); 1 in %s actions timed from just before `producer.send` until a queryable-state lookup "
                        + "(every %s ms) shows it in the user's triggers. %s samples (%s resolved by updateSeq, %s timed out). "
                        + "Job kept up: %s (max backlog %s actions, all committed %s ms after the load stopped).%n%n",
                fr.get("offered_actions_per_s"), fr.get("load_s"), fr.get("discarded_first_s"),
                fr.get("sample_every"),
                fr.get("poll_interval_ms"), fr.get("samples"), fr.get("samples_resolved_by_update_seq"),
                fr.get("samples_timed_out"), fr.get("kept_up"), fr.get("backlog_max"), fr.get("drain_after_load_ms")));
        s.append("Raw figures: [`docs/bench/feature-job.json`](bench/feature-job.json).\n");
        BenchReport.replaceSection(docs.resolve("benchmarks.md"), "feature-job", s.toString());
    }

    /** (Flink JVM + broker cores) / actions per second, in µs. */
    static double cpuMicrosPerAction(Map<String, Object> cpu, double actionsPerSecond) {
        double cores = ((Number) cpu.get("flink_jvm_cores")).doubleValue() + ((Number) cpu.get("broker_jvm_cores")).doubleValue();
        return cores / actionsPerSecond * 1e6;
    }
}
