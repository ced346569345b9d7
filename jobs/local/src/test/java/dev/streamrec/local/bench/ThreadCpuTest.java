package dev.streamrec.local.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;

import org.junit.jupiter.api.Test;

class ThreadCpuTest {
    @Test
    @SuppressWarnings("unchecked")
    void chargesABusyThreadsCpuToItsGroup() throws Exception {
        assumeTrue(Files.isDirectory(Path.of("/proc/self/task")), "Linux /proc");
        ThreadCpu.Snapshot before = ThreadCpu.take();
        AtomicBoolean stop = new AtomicBoolean();
        // Busy until it has used a measurable amount of CPU by its own account (not a wall-clock wait).
        Thread busy = new Thread(() -> {
            long x = 0;
            while (!stop.get()) {
                x += System.nanoTime() % 7;
            }
            if (x == 42) {
                System.out.print("");
            }
        }, "spin-7");
        busy.start();
        long tid = busy.getId();
        java.lang.management.ThreadMXBean mx = java.lang.management.ManagementFactory.getThreadMXBean();
        while (mx.getThreadCpuTime(tid) < 200_000_000L) {
            Thread.sleep(20);
        }
        ThreadCpu.Snapshot after = ThreadCpu.take();
        stop.set(true);
        busy.join();

        Map<String, Object> r = ThreadCpu.between(before, after, 1000, 50);
        List<Map<String, Object>> threads = (List<Map<String, Object>>) r.get("top_threads");
        assertThat(threads).filteredOn(t -> t.get("threads").equals("spin-N")).singleElement()
                .satisfies(t -> assertThat((Double) t.get("cpu_s")).isGreaterThanOrEqualTo(0.1));
        assertThat((Double) r.get("cpu_s")).isGreaterThanOrEqualTo(0.1);
        assertThat((Double) r.get("cpu_us_per_event")).isGreaterThan(0.0);
        assertThat(BenchReport.cpuTable(r)).contains("| spin-N |");
    }

    @Test
    void groupsThreadsWhoseNamesDifferOnlyInNumbers() {
        assertThat(ThreadCpu.group("join impression")).isEqualTo("join impression");
        assertThat(ThreadCpu.group("GC Thread#12")).isEqualTo(ThreadCpu.group("GC Thread#3"));
    }
}
