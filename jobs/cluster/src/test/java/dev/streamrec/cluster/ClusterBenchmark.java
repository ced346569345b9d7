package dev.streamrec.cluster;

import static dev.streamrec.cluster.ClusterRun.PREFIX;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import dev.streamrec.local.bench.BenchReport;

/**
 * bin/bench-cluster: the operator drills of the cluster test, timed, on the same standalone cluster (JobManager, two
 * TaskManager processes, Kafka broker) under the same steady feed, {@code rounds} times each: every job upgraded to
 * its next build (a state field added) and rolled back, a TaskManager SIGKILLed (alternating), index-job rescaled
 * 2 to 4 to 1; then the independent checker's lost and duplicated counts. Writes docs/bench/cluster.json and the
 * {@code ## cluster} section of docs/benchmarks.md. Not a test: nothing is asserted, the figures are recorded.
 */
public final class ClusterBenchmark {
    private static final double TARGET_RESTART_S = 30;
    private static final double TARGET_RECOVERY_S = 30;

    private ClusterBenchmark() {}

    public static void main(String[] args) throws Exception {
        int rounds = 3;
        boolean writeDocs = true;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--rounds" -> rounds = Integer.parseInt(args[++i]);
                case "--write.docs" -> writeDocs = Boolean.parseBoolean(args[++i]);
                default -> throw new IllegalArgumentException("unknown option " + args[i] + " (--rounds N, --write.docs BOOL)");
            }
        }
        Map<String, Object> machine = BenchReport.machine();
        say("machine: " + machine);
        Map<String, List<Double>> upgrade = new LinkedHashMap<>();
        Map<String, List<Double>> rollback = new LinkedHashMap<>();
        List<Double> kills = new ArrayList<>();
        List<Double> rescales = new ArrayList<>();
        PipelineChecker.Report report;
        try (ClusterRun run = ClusterRun.start(Duration.ofMinutes(5))) {
            run.submit();
            run.startFeed();
            Map<String, String> keys = run.servingKeys();
            for (int round = 0; round < rounds; round++) {
                for (String job : Operator.PIPELINE) {
                    upgrade.computeIfAbsent(job, j -> new ArrayList<>()).add(run.drills.upgrade(job, run.nextBuild(job), keys.get(job)).seconds());
                    rollback.computeIfAbsent(job, j -> new ArrayList<>()).add(run.drills.rollback(job, keys.get(job)).seconds());
                    say(job + ": upgrade " + last(upgrade.get(job)) + " s, rollback " + last(rollback.get(job)) + " s");
                }
                ClusterDrills.Recovery recovery = run.drills.killTaskManager(2 - round % 2, keys);
                kills.add(recovery.seconds());
                say("SIGKILL " + recovery.taskManager() + " (" + recovery.restartedJobs() + "): " + recovery.seconds() + " s");
                for (int parallelism : new int[] {4, 1, 2}) {
                    rescales.add(run.drills.rescale("index-job", parallelism, keys.get("index-job")).seconds());
                    say("index-job to parallelism " + parallelism + ": " + last(rescales) + " s");
                }
            }
            run.feed.pause();
            report = run.check();
            say("checker: " + PipelineChecker.counts(report) + (report.problems().isEmpty() ? "" : " " + report.problems()));
        }
        Map<String, Object> results = new LinkedHashMap<>();
        double slowestUpgrade = 0;
        String slowestJob = null;
        Map<String, Object> perJob = new LinkedHashMap<>();
        for (String job : Operator.PIPELINE) {
            double up = median(upgrade.get(job));
            double back = median(rollback.get(job));
            perJob.put(job, Map.of("upgrade_median_s", up, "rollback_median_s", back,
                    "upgrade_s", upgrade.get(job), "rollback_s", rollback.get(job)));
            if (Math.max(up, back) > slowestUpgrade) {
                slowestUpgrade = Math.max(up, back);
                slowestJob = job;
            }
        }
        results.put("upgrade_restart_to_serving_s", slowestUpgrade);
        results.put("tm_kill_recovery_s", median(kills));
        results.put("rescale_s", median(rescales));
        results.put("lost", report.lost());
        results.put("duplicated", report.duplicated());
        results.put("date", BenchReport.now());
        results.put("command", System.getProperty("bench.command", "bin/bench-cluster"));
        results.put("targets", Map.of("upgrade_restart_to_serving_s", TARGET_RESTART_S, "tm_kill_recovery_s", TARGET_RECOVERY_S,
                "lost", 0, "duplicated", 0));
        results.put("machine", machine);
        results.put("rounds", rounds);
        results.put("slowest_job", slowestJob);
        results.put("per_job", perJob);
        results.put("tm_kill_recovery_all_s", kills);
        results.put("rescale_all_s", rescales);
        results.put("checker", PipelineChecker.counts(report));
        say("results: " + BenchReport.toJson(results, ""));
        if (writeDocs) {
            writeDocs(ClusterRun.projectRoot().resolve("docs"), results);
        }
    }

    @SuppressWarnings("unchecked")
    private static void writeDocs(Path docs, Map<String, Object> r) throws Exception {
        BenchReport.writeJson(docs, "cluster", r);
        StringBuilder s = BenchReport.sectionStart("cluster", (String) r.get("date"), (String) r.get("command"),
                (Map<String, Object>) r.get("machine"));
        s.append(String.format(Locale.ROOT, "Setup: `bin/cluster` on this machine (a JobManager, two TaskManager processes "
                + "of 2 GB with 4 slots, a Kafka broker; flink-conf/config.yaml: RocksDB, incremental checkpoints every 5 s, "
                + "heartbeat 2 s / timeout 10 s, restart back-off 1 s doubling to at most 10 s), the four jobs submitted by "
                + "`bin/streamrec` (index-job at parallelism 2), the demo feed at %.0f events/s throughout; %d rounds, "
                + "medians.%n%n", ClusterRun.FEED_EVENTS_PER_S, (Integer) r.get("rounds")));
        s.append("| figure | measured | target |\n|---|---|---|\n");
        s.append(String.format(Locale.ROOT, "| upgrade_restart_to_serving_s (slowest job: %s) | %.1f | <= %.0f |%n",
                r.get("slowest_job"), (Double) r.get("upgrade_restart_to_serving_s"), TARGET_RESTART_S));
        s.append(String.format(Locale.ROOT, "| tm_kill_recovery_s | %.1f | <= %.0f |%n", (Double) r.get("tm_kill_recovery_s"),
                TARGET_RECOVERY_S));
        s.append(String.format(Locale.ROOT, "| rescale_s (index-job) | %.1f | |%n", (Double) r.get("rescale_s")));
        s.append(String.format(Locale.ROOT, "| lost | %d | 0 |%n| duplicated | %d | 0 |%n%n", (Long) r.get("lost"),
                (Long) r.get("duplicated")));
        s.append("| job | upgrade (median s) | rollback (median s) |\n|---|---|---|\n");
        ((Map<String, Map<String, Object>>) r.get("per_job")).forEach((job, m) -> s.append(String.format(Locale.ROOT,
                "| %s | %.1f | %.1f |%n", job, (Double) m.get("upgrade_median_s"), (Double) m.get("rollback_median_s"))));
        s.append(String.format(Locale.ROOT, "%nRestart to serving: from `bin/streamrec upgrade` (stop with savepoint) or "
                + "`rollback` issued until every task of the new job runs and a queryable-state lookup of a fed user "
                + "answers (feature-job: features, index-job: recall, dedup-job: fresh recall; joiner-job serves none: "
                + "until its tasks run); the upgrade starts the job's next build (a field added to a state record, see "
                + "`NextBuild`), the rollback the build before from a savepoint taken then. TaskManager kill: SIGKILL, "
                + "the TaskManager started again at once (a supervisor's job), until every job that had a task on it runs "
                + "all tasks deployed after the kill and every job answers again; all kills: %s s. Rescale: stop with "
                + "savepoint to every task running and recall answering, index-job 2 → 4 → 1 → 2; all: %s s. Lost and "
                + "duplicated: `PipelineChecker` at the end (input topics against the outputs read read_committed: "
                + "%s).%n%n", r.get("tm_kill_recovery_all_s"), r.get("rescale_all_s"), r.get("checker")));
        s.append("Raw figures: [`docs/bench/cluster.json`](bench/cluster.json).\n");
        BenchReport.replaceSection(docs.resolve("benchmarks.md"), "cluster", s.toString());
    }

    private static double median(List<Double> values) {
        double[] v = values.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        return BenchReport.round(BenchReport.percentile(v, 0.5), 2);
    }

    private static double last(List<Double> values) {
        return values.get(values.size() - 1);
    }

    private static void say(String line) {
        System.out.println(java.time.LocalTime.now().withNano(0) + " " + line);
    }
}
