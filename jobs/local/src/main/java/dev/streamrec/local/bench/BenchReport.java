package dev.streamrec.local.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.common.TopicPartition;

/**
 * What every benchmark shares: the machine description, percentiles, the JSON of raw figures
 * ({@code docs/bench/<name>.json}) and replacing a benchmark's own section of {@code docs/benchmarks.md}.
 */
public final class BenchReport {
    static final String HEADER = """
            # Benchmarks

            How they are run: each benchmark is a `main` class in a module's test sources, started by a script in `bin/`
            (`bin/bench-<name>`) that builds the project and runs it on the local stack: a real Kafka broker in a child
            JVM, a Flink MiniCluster configured like the local stack (RocksDB, queryable state, exactly-once sinks) and
            the job under test. Each run writes its raw figures to `docs/bench/<name>.json` and replaces its own
            section below.

            The machines are shared and noisy (other builds and tests may run at the same time; each section records the
            load seen during the run). Run a benchmark several times and report the median; treat differences of less
            than about 10-15% between runs as noise.
            """;

    private BenchReport() {}

    /** Cores, CPU model, memory, OS, JVM and the load average now. */
    public static Map<String, Object> machine() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("cores", Runtime.getRuntime().availableProcessors());
        try {
            String model = Files.readAllLines(Path.of("/proc/cpuinfo")).stream().filter(l -> l.startsWith("model name"))
                    .findFirst().map(l -> l.substring(l.indexOf(':') + 1).strip()).orElse("?");
            m.put("cpu", model);
            String mem = Files.readAllLines(Path.of("/proc/meminfo")).stream().filter(l -> l.startsWith("MemTotal"))
                    .findFirst().orElse("MemTotal: 0 kB");
            long kb = Long.parseLong(mem.replaceAll("[^0-9]", ""));
            m.put("memory_gib", round(kb / 1024.0 / 1024.0, 1));
            m.put("load_average_at_start", loadAverage());
        } catch (Exception e) {
            m.put("cpu", "?");
        }
        m.put("os", System.getProperty("os.name") + " " + System.getProperty("os.version") + " " + System.getProperty("os.arch"));
        m.put("jvm", System.getProperty("java.vm.name") + " " + System.getProperty("java.runtime.version"));
        m.put("max_heap_mib", Runtime.getRuntime().maxMemory() >> 20);
        return m;
    }

    public static String loadAverage() {
        try {
            return Files.readString(Path.of("/proc/loadavg")).split(" ")[0];
        } catch (IOException e) {
            return "?";
        }
    }

    /** The q-quantile (0..1, nearest rank) of the values; NaN when there are none. */
    public static double percentile(double[] values, double q) {
        if (values.length == 0) {
            return Double.NaN;
        }
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        int rank = (int) Math.ceil(q * sorted.length) - 1;
        return sorted[Math.max(0, Math.min(sorted.length - 1, rank))];
    }

    public static double round(double v, int digits) {
        double f = Math.pow(10, digits);
        return Math.round(v * f) / f;
    }

    public static String now() {
        return ZonedDateTime.now().format(DateTimeFormatter.ISO_OFFSET_DATE_TIME);
    }

    /** The start of a {@code ## name} section: heading, date, the command that produced it and the machine. */
    public static StringBuilder sectionStart(String name, String date, String command, Map<String, Object> machine) {
        StringBuilder s = new StringBuilder();
        s.append("## ").append(name).append("\n\n");
        s.append("Measured ").append(date).append(" with\n\n```\n").append(command).append("\n```\n\n");
        s.append(String.format(Locale.ROOT, "Machine: %s cores (%s), %s GiB, %s, %s; load average at start %s.%n%n",
                machine.get("cores"), machine.get("cpu"), machine.get("memory_gib"), machine.get("os"), machine.get("jvm"),
                machine.get("load_average_at_start")));
        return s;
    }

    /** Writes {@code docs/bench/<name>.json}. */
    public static void writeJson(Path docs, String name, Map<String, Object> json) throws IOException {
        Files.createDirectories(docs.resolve("bench"));
        Files.writeString(docs.resolve("bench/" + name + ".json"), toJson(json, "") + "\n");
    }

    /** Replaces the {@code ## name} section of the file (up to the next {@code ## } heading), or appends it. */
    public static void replaceSection(Path file, String name, String section) throws IOException {
        String text = Files.exists(file) ? Files.readString(file) : HEADER;
        String heading = "## " + name + "\n";
        int start = text.startsWith(heading) ? 0 : text.indexOf("\n" + heading);
        if (start < 0) {
            text = text.stripTrailing() + "\n\n" + section;
        } else {
            if (start > 0) {
                start++;
            }
            int end = text.indexOf("\n## ", start + heading.length());
            String rest = end < 0 ? "" : "\n" + text.substring(end + 1);
            text = text.substring(0, start) + section + rest;
        }
        Files.writeString(file, text.stripTrailing() + "\n");
    }

    public static String toJson(Object v, String indent) {
        if (v == null) {
            return "null";
        }
        if (v instanceof Map<?, ?> m) {
            if (m.isEmpty()) {
                return "{}";
            }
            StringBuilder sb = new StringBuilder("{\n");
            String inner = indent + "  ";
            int i = 0;
            for (Map.Entry<?, ?> e : m.entrySet()) {
                sb.append(inner).append(quote(String.valueOf(e.getKey()))).append(": ").append(toJson(e.getValue(), inner));
                sb.append(++i < m.size() ? ",\n" : "\n");
            }
            return sb.append(indent).append("}").toString();
        }
        if (v instanceof List<?> l) {
            StringBuilder sb = new StringBuilder("[");
            for (int i = 0; i < l.size(); i++) {
                sb.append(i > 0 ? ", " : "").append(toJson(l.get(i), indent));
            }
            return sb.append("]").toString();
        }
        if (v instanceof Double d) {
            if (d.isNaN() || d.isInfinite()) {
                return "null";
            }
            return d == Math.rint(d) && Math.abs(d) < 1e15 ? String.valueOf(d.longValue()) : String.valueOf(d);
        }
        if (v instanceof Number || v instanceof Boolean) {
            return String.valueOf(v);
        }
        return quote(String.valueOf(v));
    }

    private static String quote(String s) {
        StringBuilder sb = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                case '\t' -> sb.append("\\t");
                default -> {
                    if (c < 0x20) {
                        sb.append(String.format("\\u%04x", (int) c));
                    } else {
                        sb.append(c);
                    }
                }
            }
        }
        return sb.append('"').toString();
    }

    /** The sum of a consumer group's committed offsets over {@code tps} (0 where none). */
    public static long committed(Admin admin, String group, List<TopicPartition> tps) throws Exception {
        var offsets = admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get(30, TimeUnit.SECONDS);
        long sum = 0;
        for (TopicPartition tp : tps) {
            var o = offsets.get(tp);
            sum += o == null ? 0 : o.offset();
        }
        return sum;
    }

    /** Least-squares slope and R² of (t, value). */
    public static double[] slope(List<double[]> pts) {
        double n = pts.size(), sx = 0, sy = 0, sxx = 0, sxy = 0, syy = 0;
        for (double[] p : pts) {
            sx += p[0];
            sy += p[1];
            sxx += p[0] * p[0];
            sxy += p[0] * p[1];
            syy += p[1] * p[1];
        }
        double cov = sxy - sx * sy / n, vx = sxx - sx * sx / n, vy = syy - sy * sy / n;
        return new double[] {cov / vx, vy == 0 ? 1 : cov * cov / (vx * vy)};
    }

    /**
     * The rate a job drains a backlog at: its consumer group's committed offsets on {@code tps} sampled every second
     * until they reach {@code total} (the idle tail would bend the slope) or {@code maxWindowS} passes; then waits (up
     * to 10 minutes) for the rest, so what follows starts on an idle job. Returns {@code per_s} (least-squares slope),
     * {@code r2}, {@code window_s}, {@code window_long_enough} (at least {@code minWindowS}) and {@code cpu}: where
     * the CPU went in the window ({@link ThreadCpu#between}).
     */
    public static Map<String, Object> drainRate(Admin admin, String group, List<TopicPartition> tps, long total,
                                                long minWindowS, long maxWindowS) throws Exception {
        List<double[]> window = new ArrayList<>();
        ThreadCpu.Snapshot cpuBefore = ThreadCpu.take();
        long start = System.nanoTime();
        long next = start;
        long first = -1;
        long last = 0;
        while (System.nanoTime() - start <= maxWindowS * 1_000_000_000L) {
            long c = committed(admin, group, tps);
            first = first < 0 ? c : first;
            last = c;
            if (c >= total) {
                break;
            }
            double at = (System.nanoTime() - start) / 1e9;
            window.add(new double[] {at, c});
            if (window.size() % 10 == 1) {
                BenchStack.say(String.format(Locale.ROOT, "  t=%5.1f s committed %,d of %,d", at, c, total));
            }
            next += 1_000_000_000L;
            LockSupport.parkNanos(Math.max(0, next - System.nanoTime()));
        }
        ThreadCpu.Snapshot cpuAfter = ThreadCpu.take();
        double drained = first < 0 ? 0 : last - first;
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(10);
        while (committed(admin, group, tps) < total && System.nanoTime() < deadline) {
            Thread.sleep(1000);
        }
        double length = window.size() < 2 ? 0 : window.get(window.size() - 1)[0] - window.get(0)[0];
        double[] fit = window.size() < 2 ? new double[] {0, 0} : slope(window);
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("per_s", round(fit[0], 0));
        r.put("r2", round(fit[1], 4));
        r.put("window_s", round(length, 1));
        r.put("window_long_enough", length >= minWindowS);
        r.put("cpu", ThreadCpu.between(cpuBefore, cpuAfter, drained, 8));
        return r;
    }

    /** A {@link ThreadCpu#between} result as a markdown table (empty without one). */
    @SuppressWarnings("unchecked")
    public static String cpuTable(Map<String, Object> cpu) {
        if (cpu == null || !(cpu.get("top_threads") instanceof List<?> threads) || threads.isEmpty()) {
            return "(no per-thread CPU figures on this system)\n";
        }
        StringBuilder s = new StringBuilder(String.format(Locale.ROOT,
                "%.1f CPU-seconds in %.0f s (%.2f cores busy), %.1f µs of CPU per event.%n%n",
                ((Number) cpu.get("cpu_s")).doubleValue(), ((Number) cpu.get("window_s")).doubleValue(),
                ((Number) cpu.get("cores_busy")).doubleValue(), ((Number) cpu.get("cpu_us_per_event")).doubleValue()));
        s.append("| threads | CPU (s) | run-queue wait (s) |\n|---|---|---|\n");
        for (Object o : threads) {
            Map<String, Object> t = (Map<String, Object>) o;
            s.append(String.format(Locale.ROOT, "| %s | %.1f | %.1f |%n", t.get("threads"),
                    ((Number) t.get("cpu_s")).doubleValue(), ((Number) t.get("runqueue_wait_s")).doubleValue()));
        }
        return s.toString();
    }
}
