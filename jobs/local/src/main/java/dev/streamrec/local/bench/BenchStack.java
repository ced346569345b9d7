package dev.streamrec.local.bench;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.MemorySize;
import org.apache.flink.runtime.minicluster.MiniCluster;

import dev.streamrec.jobs.config.JobConfig;
import dev.streamrec.jobs.config.Option;
import dev.streamrec.testkit.EmbeddedKafkaBroker;
import dev.streamrec.testkit.LocalFlinkCluster;
import dev.streamrec.testkit.TempDirs;

/**
 * What a whole-job benchmark runs on: a Kafka broker in a child JVM (C2, 1 GiB heap: benchmarks load it) and a
 * MiniCluster with RocksDB and queryable state in this JVM, on free ports, with a temporary work directory; plus the
 * {@code main} every benchmark shares (options or {@code --help}, run, close, exit code).
 */
public final class BenchStack implements AutoCloseable {
    private final EmbeddedKafkaBroker broker;
    private final Path workDir;
    private final Configuration flinkConf;
    private final MiniCluster cluster;
    private final int restPort;
    private final int proxyPort;

    /** A benchmark: runs once, then is closed whatever happened. */
    public interface Benchmark {
        void run() throws Exception;

        void close();
    }

    /** Parses the options (printing {@code --help}), runs the benchmark, closes it and exits non-zero if it failed. */
    public static void main(String name, List<Option> options, String[] args,
                            java.util.function.Function<JobConfig, Benchmark> create) {
        JobConfig cfg;
        try {
            cfg = JobConfig.parse(name, options, args);
        } catch (JobConfig.HelpRequested help) {
            System.out.println(help.getMessage());
            return;
        }
        Benchmark bench = create.apply(cfg);
        int rc = 0;
        try {
            bench.run();
        } catch (Throwable e) {
            say("benchmark failed: " + e);
            e.printStackTrace();
            rc = 1;
        } finally {
            bench.close();
        }
        System.exit(rc);
    }

    /** A progress line with the wall-clock time. */
    public static void say(String s) {
        System.out.println(DateTimeFormatter.ofPattern("HH:mm:ss").format(ZonedDateTime.now()) + " " + s);
        System.out.flush();
    }

    private BenchStack(EmbeddedKafkaBroker broker, Path workDir, Configuration flinkConf, MiniCluster cluster,
                       int restPort, int proxyPort) {
        this.broker = broker;
        this.workDir = workDir;
        this.flinkConf = flinkConf;
        this.cluster = cluster;
        this.restPort = restPort;
        this.proxyPort = proxyPort;
    }

    /** Starts the broker, then the MiniCluster; stops what started if the rest fails. */
    public static BenchStack start(String name, int slots, MemorySize managedMemory) throws Exception {
        say("starting Kafka broker (child JVM, C2)...");
        EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.builder().fastStartup(false).maxHeap("1g").start();
        say("broker at " + broker.bootstrapServers() + " in " + broker.startupTime().toMillis() + " ms");
        Path workDir = null;
        try {
            workDir = Files.createTempDirectory(name + "-");
            int proxyPort = EmbeddedKafkaBroker.freePort();
            Configuration flinkConf = LocalFlinkCluster.configuration(workDir, slots, EmbeddedKafkaBroker.freePort(),
                    proxyPort, EmbeddedKafkaBroker.freePort(), managedMemory);
            MiniCluster cluster = LocalFlinkCluster.start(flinkConf);
            int restPort = LocalFlinkCluster.restPort(cluster);
            say("MiniCluster up, REST at " + restPort);
            return new BenchStack(broker, workDir, flinkConf, cluster, restPort, proxyPort);
        } catch (Exception | Error e) {
            broker.close();
            if (workDir != null) {
                TempDirs.deleteRecursively(workDir);
            }
            throw e;
        }
    }

    public EmbeddedKafkaBroker broker() {
        return broker;
    }

    public String bootstrapServers() {
        return broker.bootstrapServers();
    }

    public MiniCluster cluster() {
        return cluster;
    }

    /** The cluster's configuration (a copy: callers add job settings to it). */
    public Configuration flinkConfiguration() {
        return new Configuration(flinkConf);
    }

    public int restPort() {
        return restPort;
    }

    public int proxyPort() {
        return proxyPort;
    }

    public Path workDir() {
        return workDir;
    }

    @Override
    public void close() {
        try {
            cluster.closeAsync().get(60, TimeUnit.SECONDS);
        } catch (Exception e) {
            say("closing MiniCluster: " + e);
        }
        broker.close();
        TempDirs.deleteRecursively(workDir);
    }
}
