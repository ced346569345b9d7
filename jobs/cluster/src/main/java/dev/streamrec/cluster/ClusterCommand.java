package dev.streamrec.cluster;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.Callable;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code bin/cluster}: a local Flink standalone session cluster (one JobManager, N TaskManagers, separate processes)
 * and the Kafka broker, started and stopped as a unit. The settings of {@code start} are kept in the cluster's folder
 * ({@code cluster.properties}), so the other commands need only {@code --dir}.
 */
@Command(name = "cluster", mixinStandardHelpOptions = true, subcommands = {
        ClusterCommand.Start.class, ClusterCommand.Stop.class, ClusterCommand.Status.class,
        ClusterCommand.KillTaskManager.class, ClusterCommand.StartTaskManager.class},
        description = "A local Flink standalone cluster (JobManager, TaskManagers) and Kafka broker, as separate processes.")
public final class ClusterCommand {
    static final String SETTINGS = "cluster.properties";

    public static void main(String[] args) {
        System.exit(new CommandLine(new ClusterCommand()).execute(args));
    }

    /** The folder every command works on. */
    static final class Dir {
        @Option(names = "--dir", defaultValue = "${env:STREAMREC_CLUSTER_DIR:-/tmp/streamrec-cluster}",
                description = "The cluster's folder (default: $STREAMREC_CLUSTER_DIR or ${DEFAULT-VALUE}).")
        Path dir;

        StandaloneCluster cluster() throws IOException {
            return new StandaloneCluster(load(dir.toAbsolutePath()));
        }
    }

    @Command(name = "start", mixinStandardHelpOptions = true,
            description = "Starts the broker, the JobManager and the TaskManagers; returns once all are up.")
    static final class Start implements Callable<Integer> {
        @Mixin Dir dir;
        @Option(names = "--dist", defaultValue = "jobs/flink-dist/target/flink", description = "Flink's lib/ and plugins/ (default: ${DEFAULT-VALUE}).")
        Path dist;
        @Option(names = "--flink-conf", defaultValue = "flink-conf", description = "The folder of config.yaml (default: ${DEFAULT-VALUE}).")
        Path flinkConf;
        @Option(names = "--rest-port", defaultValue = "8081") int restPort;
        @Option(names = "--rpc-port", defaultValue = "6123") int rpcPort;
        @Option(names = "--kafka-port", defaultValue = "9092") int kafkaPort;
        @Option(names = "--no-kafka", description = "Do not run a broker (bring your own).") boolean noKafka;
        @Option(names = "--taskmanagers", defaultValue = "2") int taskManagers;
        @Option(names = "--slots", defaultValue = "4", description = "Task slots per TaskManager (default: ${DEFAULT-VALUE}).") int slots;
        @Option(names = "--taskmanager-memory", defaultValue = "2g", description = "Process size of each TaskManager (default: ${DEFAULT-VALUE}).")
        String taskManagerMemory;
        @Option(names = "--queryable-proxy-port", defaultValue = "9069", description = "TaskManager 1's queryable state proxy port; TaskManager n's is this + n - 1 (default: ${DEFAULT-VALUE}).")
        int proxyPort;
        @Option(names = "--queryable-server-port", defaultValue = "9059", description = "TaskManager 1's queryable state server port (default: ${DEFAULT-VALUE}).")
        int serverPort;
        @Option(names = "--prometheus-port", defaultValue = "9249", description = "The JobManager's Prometheus port; TaskManager n's is this + n (default: ${DEFAULT-VALUE}).")
        int prometheusPort;
        @Option(names = "--timeout", defaultValue = "PT5M", description = "How long to wait for everything to be up (default: ${DEFAULT-VALUE}).")
        Duration timeout;

        @Override
        public Integer call() throws Exception {
            Path work = dir.dir.toAbsolutePath();
            if (!Files.isDirectory(dist.resolve("lib"))) {
                System.err.println("no Flink lib/ in " + dist.toAbsolutePath() + ": build it with mvn -pl jobs/flink-dist package");
                return 2;
            }
            ClusterConfig config = new ClusterConfig(work, dist.toAbsolutePath(), flinkConf.toAbsolutePath(), restPort, rpcPort,
                    kafkaPort, !noKafka, taskManagers, slots, taskManagerMemory, proxyPort, serverPort, prometheusPort);
            StandaloneCluster running = Files.isRegularFile(work.resolve(SETTINGS)) ? new StandaloneCluster(load(work)) : null;
            if (running != null && !running.running().isEmpty()) {
                System.out.println("already running in " + work + ": " + running.running().keySet());
                config = running.config();
            } else {
                save(config);
            }
            StandaloneCluster cluster = new StandaloneCluster(config);
            long t0 = System.nanoTime();
            cluster.start(timeout);
            System.out.printf("cluster up in %.1f s: web UI and REST %s, Kafka %s, %d TaskManagers x %d slots, queryable state proxy %s, "
                            + "Prometheus %s; logs in %s%n", (System.nanoTime() - t0) / 1e9, config.restUrl(),
                    config.kafka() ? config.bootstrapServers() : "(not run)", config.taskManagers(), config.slots(),
                    "127.0.0.1:" + config.proxyPort(1), "127.0.0.1:" + config.prometheusPort(0) + "-" + config.prometheusPort(config.taskManagers()),
                    config.logDir());
            return 0;
        }
    }

    @Command(name = "stop", mixinStandardHelpOptions = true,
            description = "Stops every process of the cluster (SIGTERM, SIGKILL after the grace period).")
    static final class Stop implements Callable<Integer> {
        @Mixin Dir dir;
        @Option(names = "--grace", defaultValue = "PT30S") Duration grace;

        @Override
        public Integer call() throws Exception {
            if (!Files.isRegularFile(dir.dir.resolve(SETTINGS))) {
                System.out.println("no cluster in " + dir.dir);
                return 0;
            }
            List<String> stopped = dir.cluster().stop(grace);
            System.out.println(stopped.isEmpty() ? "nothing was running" : "stopped " + String.join(", ", stopped));
            return 0;
        }
    }

    @Command(name = "status", mixinStandardHelpOptions = true, description = "Which processes run; TaskManagers registered.")
    static final class Status implements Callable<Integer> {
        @Mixin Dir dir;

        @Override
        public Integer call() throws Exception {
            if (!Files.isRegularFile(dir.dir.resolve(SETTINGS))) {
                System.out.println("no cluster in " + dir.dir);
                return 1;
            }
            StandaloneCluster cluster = dir.cluster();
            Map<String, Long> running = cluster.running();
            running.forEach((name, pid) -> System.out.println(name + " pid " + pid));
            System.out.println("TaskManagers registered at " + cluster.config().restUrl() + ": " + cluster.registeredTaskManagers());
            return running.isEmpty() ? 1 : 0;
        }
    }

    @Command(name = "kill-taskmanager", mixinStandardHelpOptions = true, description = "SIGKILL to TaskManager N (1-based).")
    static final class KillTaskManager implements Callable<Integer> {
        @Mixin Dir dir;
        @Parameters(index = "0") int n;

        @Override
        public Integer call() throws Exception {
            dir.cluster().kill(StandaloneCluster.taskManager(n));
            System.out.println("killed " + StandaloneCluster.taskManager(n));
            return 0;
        }
    }

    @Command(name = "start-taskmanager", mixinStandardHelpOptions = true, description = "Starts TaskManager N (1-based) again.")
    static final class StartTaskManager implements Callable<Integer> {
        @Mixin Dir dir;
        @Parameters(index = "0") int n;

        @Override
        public Integer call() throws Exception {
            StandaloneCluster cluster = dir.cluster();
            if (cluster.alive(StandaloneCluster.taskManager(n))) {
                System.out.println(StandaloneCluster.taskManager(n) + " already runs");
                return 0;
            }
            cluster.startTaskManager(n);
            System.out.println("started " + StandaloneCluster.taskManager(n));
            return 0;
        }
    }

    static void save(ClusterConfig c) throws IOException {
        Properties p = new Properties();
        p.setProperty("dist", c.distDir().toString());
        p.setProperty("flink-conf", c.flinkConf().toString());
        p.setProperty("rest-port", Integer.toString(c.restPort()));
        p.setProperty("rpc-port", Integer.toString(c.rpcPort()));
        p.setProperty("kafka-port", Integer.toString(c.kafkaPort()));
        p.setProperty("kafka", Boolean.toString(c.kafka()));
        p.setProperty("taskmanagers", Integer.toString(c.taskManagers()));
        p.setProperty("slots", Integer.toString(c.slots()));
        p.setProperty("taskmanager-memory", c.taskManagerMemory());
        p.setProperty("queryable-proxy-port", Integer.toString(c.queryableProxyPort()));
        p.setProperty("queryable-server-port", Integer.toString(c.queryableServerPort()));
        p.setProperty("prometheus-port", Integer.toString(c.prometheusPort()));
        Files.createDirectories(c.workDir());
        try (OutputStream out = Files.newOutputStream(c.workDir().resolve(SETTINGS))) {
            p.store(out, "bin/cluster start");
        }
    }

    /** The settings {@code start} kept in the folder. */
    public static ClusterConfig load(Path workDir) throws IOException {
        Properties p = new Properties();
        try (InputStream in = Files.newInputStream(workDir.resolve(SETTINGS))) {
            p.load(in);
        }
        return new ClusterConfig(workDir, Path.of(p.getProperty("dist")), Path.of(p.getProperty("flink-conf")),
                Integer.parseInt(p.getProperty("rest-port")), Integer.parseInt(p.getProperty("rpc-port")),
                Integer.parseInt(p.getProperty("kafka-port")), Boolean.parseBoolean(p.getProperty("kafka")),
                Integer.parseInt(p.getProperty("taskmanagers")), Integer.parseInt(p.getProperty("slots")),
                p.getProperty("taskmanager-memory"), Integer.parseInt(p.getProperty("queryable-proxy-port")),
                Integer.parseInt(p.getProperty("queryable-server-port")), Integer.parseInt(p.getProperty("prometheus-port")));
    }
}
