package dev.streamrec.testkit;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.CoreOptions;
import org.apache.flink.configuration.GlobalConfiguration;
import org.apache.flink.configuration.JobManagerOptions;
import org.apache.flink.configuration.MemorySize;
import org.apache.flink.configuration.QueryableStateOptions;
import org.apache.flink.configuration.RestOptions;
import org.apache.flink.configuration.TaskManagerOptions;
import org.apache.flink.configuration.WebOptions;
import org.apache.flink.runtime.minicluster.MiniCluster;
import org.apache.flink.runtime.minicluster.MiniClusterConfiguration;

/**
 * The configuration of the in-process Flink cluster (a MiniCluster) that the local stack, the tests and the
 * benchmarks run: the production {@code flink-conf/config.yaml} (RocksDB, exactly-once checkpoints every 5 s,
 * unaligned checkpoints, retained checkpoints, the restart strategy, queryable state, no Kryo), with only what a
 * process on a shared machine must change: ports, addresses (loopback), directories and memory. One place, so all
 * three run the jobs as a cluster would.
 */
public final class LocalFlinkCluster {
    public static final String HOST = "127.0.0.1";
    /** System property naming the folder of the production config.yaml (default: flink-conf/ in this or a parent folder). */
    public static final String FLINK_CONF_PROPERTY = "streamrec.flink-conf";

    private LocalFlinkCluster() {}

    /** The production cluster configuration, {@code flink-conf/config.yaml}, as Flink itself loads it. */
    public static Configuration productionConfiguration() {
        return GlobalConfiguration.loadConfiguration(productionConfigDir().toString());
    }

    static Path productionConfigDir() {
        String configured = System.getProperty(FLINK_CONF_PROPERTY);
        if (configured != null && !configured.isBlank()) {
            return Path.of(configured).toAbsolutePath();
        }
        for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
            if (Files.isRegularFile(dir.resolve("flink-conf").resolve("config.yaml"))) {
                return dir.resolve("flink-conf");
            }
        }
        throw new IllegalStateException("flink-conf/config.yaml not found in " + Path.of("").toAbsolutePath()
                + " or a parent folder; set -D" + FLINK_CONF_PROPERTY + "=DIR");
    }

    public static Configuration configuration(Path workDir, int slots, int restPort, int proxyPort, int stateServerPort,
                                              MemorySize managedMemory) throws IOException {
        Configuration conf = productionConfiguration();
        // Memory: one in-process TaskManager with the given managed memory, not the 8 GB process of a cluster host.
        for (String key : new String[] {"taskmanager.memory.process.size", "jobmanager.memory.process.size",
                "taskmanager.memory.managed.fraction"}) {
            conf.removeKey(key);
        }
        // Ports: the Prometheus reporter (a plugin on a cluster) binds 9249+; the tests read metrics through REST.
        conf.keySet().stream().filter(k -> k.startsWith("metrics.reporter.")).toList().forEach(conf::removeKey);
        conf.setString("jobmanager.rpc.port", "0");
        conf.setString("jobmanager.bind-host", HOST);
        conf.setString("taskmanager.bind-host", HOST);
        conf.set(CheckpointingOptions.CHECKPOINTS_DIRECTORY, Files.createDirectories(workDir.resolve("checkpoints")).toUri().toString());
        conf.set(CheckpointingOptions.SAVEPOINT_DIRECTORY, Files.createDirectories(workDir.resolve("savepoints")).toUri().toString());
        conf.set(QueryableStateOptions.ENABLE_QUERYABLE_STATE_PROXY_SERVER, true);
        conf.set(QueryableStateOptions.PROXY_PORT_RANGE, Integer.toString(proxyPort));
        conf.set(QueryableStateOptions.SERVER_PORT_RANGE, Integer.toString(stateServerPort));
        conf.set(RestOptions.ADDRESS, HOST);
        conf.set(RestOptions.BIND_ADDRESS, HOST);
        conf.set(RestOptions.PORT, restPort);
        conf.set(RestOptions.BIND_PORT, Integer.toString(restPort));
        conf.set(JobManagerOptions.ADDRESS, HOST);
        conf.set(TaskManagerOptions.HOST, HOST);
        conf.set(TaskManagerOptions.NUM_TASK_SLOTS, slots);
        conf.set(TaskManagerOptions.MANAGED_MEMORY_SIZE, managedMemory);
        // Flink's own scratch space (RocksDB working directories, web uploads) inside the work folder too.
        conf.set(CoreOptions.TMP_DIRS, Files.createDirectories(workDir.resolve("tmp")).toString());
        conf.set(WebOptions.TMP_DIR, Files.createDirectories(workDir.resolve("web")).toString());
        return conf;
    }

    /** Starts a MiniCluster with one TaskManager of the configured slots; a cluster that fails to start is closed. */
    public static MiniCluster start(Configuration conf) throws Exception {
        MiniCluster cluster = new MiniCluster(new MiniClusterConfiguration.Builder().setConfiguration(conf)
                .setNumTaskManagers(1).setNumSlotsPerTaskManager(conf.get(TaskManagerOptions.NUM_TASK_SLOTS)).build());
        try {
            cluster.start();
        } catch (Exception | Error e) {
            try {
                cluster.close();
            } catch (Exception suppressed) {
                e.addSuppressed(suppressed);
            }
            throw e;
        }
        return cluster;
    }

    /** The REST port the started cluster listens on (the configured one, or the one it picked). */
    public static int restPort(MiniCluster cluster) throws Exception {
        try {
            return cluster.getRestAddress().get(5, TimeUnit.MINUTES).getPort();
        } catch (java.util.concurrent.TimeoutException e) {
            throw new IllegalStateException("the MiniCluster's REST endpoint did not come up within 5 minutes", e);
        }
    }
}
