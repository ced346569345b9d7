package dev.streamrec.testkit;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.CoreOptions;
import org.apache.flink.configuration.JobManagerOptions;
import org.apache.flink.configuration.MemorySize;
import org.apache.flink.configuration.PipelineOptions;
import org.apache.flink.configuration.QueryableStateOptions;
import org.apache.flink.configuration.RestOptions;
import org.apache.flink.configuration.StateBackendOptions;
import org.apache.flink.configuration.TaskManagerOptions;
import org.apache.flink.configuration.WebOptions;
import org.apache.flink.runtime.minicluster.MiniCluster;
import org.apache.flink.runtime.minicluster.MiniClusterConfiguration;

/**
 * The configuration of the in-process Flink cluster (a MiniCluster) that the local stack, the tests and the
 * benchmarks run: RocksDB, checkpoints and savepoints under one folder, queryable state on, REST on loopback,
 * no Kryo. One place, so all three run the jobs the same way.
 */
public final class LocalFlinkCluster {
    public static final String HOST = "127.0.0.1";

    private LocalFlinkCluster() {}

    public static Configuration configuration(Path workDir, int slots, int restPort, int proxyPort, int stateServerPort,
                                              MemorySize managedMemory) throws IOException {
        Configuration conf = new Configuration();
        conf.set(StateBackendOptions.STATE_BACKEND, "rocksdb");
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
        conf.set(PipelineOptions.GENERIC_TYPES, false);
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
        return cluster.getRestAddress().get(30, TimeUnit.SECONDS).getPort();
    }
}
