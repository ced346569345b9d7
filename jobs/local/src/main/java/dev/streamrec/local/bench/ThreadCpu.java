package dev.streamrec.local.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Where a benchmark's CPU went: every thread of this JVM and of its child processes (the broker), from Linux's
 * {@code /proc/<pid>/task/<tid>/schedstat} (time on a CPU and time waiting in the run queue, in ns). RocksDB's
 * compaction and flush threads are native, invisible to a Java profiler, and the run-queue wait tells a thread that
 * waits for a core from one that waits for work. Empty where there is no {@code /proc}.
 */
public final class ThreadCpu {
    /** One reading: per thread (pid/tid), its group name and [cpu ns, run-queue wait ns]. */
    public record Snapshot(Map<String, String> names, Map<String, long[]> times, long nanoTime) {}

    private ThreadCpu() {}

    public static Snapshot take() {
        Map<String, String> names = new HashMap<>();
        Map<String, long[]> times = new HashMap<>();
        List<ProcessHandle> processes = new ArrayList<>();
        processes.add(ProcessHandle.current());
        ProcessHandle.current().descendants().forEach(processes::add);
        for (ProcessHandle process : processes) {
            String owner = process.pid() == ProcessHandle.current().pid() ? "" : command(process) + ": ";
            Path tasks = Path.of("/proc", Long.toString(process.pid()), "task");
            try (Stream<Path> list = Files.list(tasks)) {
                for (Path task : (Iterable<Path>) list::iterator) {
                    try {
                        String[] sched = Files.readString(task.resolve("schedstat")).trim().split("\\s+");
                        String id = process.pid() + "/" + task.getFileName();
                        names.put(id, owner + group(Files.readString(task.resolve("comm")).trim()));
                        times.put(id, new long[] {Long.parseLong(sched[0]), Long.parseLong(sched[1])});
                    } catch (IOException | RuntimeException e) {
                        // the thread ended while being read
                    }
                }
            } catch (IOException e) {
                // no /proc here, or the process ended
            }
        }
        return new Snapshot(names, times, System.nanoTime());
    }

    /**
     * CPU between two snapshots: {@code cpu_s} (all threads), {@code cores_busy}, {@code cpu_us_per_event} for
     * {@code events} processed in between, and the {@code top} thread groups by CPU with their run-queue wait.
     */
    public static Map<String, Object> between(Snapshot before, Snapshot after, double events, int top) {
        Map<String, long[]> groups = new HashMap<>();
        for (Map.Entry<String, long[]> e : after.times().entrySet()) {
            long[] was = before.times().getOrDefault(e.getKey(), new long[2]);
            long[] sum = groups.computeIfAbsent(after.names().get(e.getKey()), g -> new long[2]);
            sum[0] += e.getValue()[0] - was[0];
            sum[1] += e.getValue()[1] - was[1];
        }
        double seconds = (after.nanoTime() - before.nanoTime()) / 1e9;
        double cpu = groups.values().stream().mapToLong(t -> t[0]).sum() / 1e9;
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("window_s", BenchReport.round(seconds, 1));
        r.put("cpu_s", BenchReport.round(cpu, 1));
        r.put("cores_busy", seconds == 0 ? 0 : BenchReport.round(cpu / seconds, 2));
        r.put("cpu_us_per_event", events <= 0 ? 0 : BenchReport.round(cpu * 1e6 / events, 1));
        List<Map<String, Object>> threads = new ArrayList<>();
        groups.entrySet().stream().sorted((a, b) -> Long.compare(b.getValue()[0], a.getValue()[0])).limit(top)
                .forEach(e -> {
                    Map<String, Object> t = new LinkedHashMap<>();
                    t.put("threads", e.getKey());
                    t.put("cpu_s", BenchReport.round(e.getValue()[0] / 1e9, 1));
                    t.put("runqueue_wait_s", BenchReport.round(e.getValue()[1] / 1e9, 1));
                    threads.add(t);
                });
        r.put("top_threads", threads);
        return r;
    }

    /** A thread's name with its numbers dropped ("join ... (2/2)#0" and "(1/2)#0" are one group). */
    static String group(String comm) {
        return comm.replaceAll("[0-9]+", "N");
    }

    private static String command(ProcessHandle process) {
        boolean broker = process.info().arguments()
                .map(args -> java.util.Arrays.stream(args).anyMatch(a -> a.toLowerCase(java.util.Locale.ROOT).contains("kafka")))
                .orElse(false);
        return broker ? "kafka broker" : process.info().command().map(c -> Path.of(c).getFileName().toString()).orElse("?");
    }
}
