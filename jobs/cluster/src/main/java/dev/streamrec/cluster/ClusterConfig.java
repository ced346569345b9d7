package dev.streamrec.cluster;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.ConfigurationUtils;
import org.apache.flink.configuration.GlobalConfiguration;

/**
 * Where a local standalone cluster lives and how it differs from {@code flink-conf/config.yaml}: addresses and ports
 * on the loopback interface, one host's memory, its directories. Everything else (RocksDB, checkpoints, restarts,
 * heartbeats, queryable state, the Prometheus reporter) is the production file as it is.
 *
 * @param workDir     the cluster's folder: conf/, log/, pids/, checkpoints/, savepoints/, scratch space
 * @param distDir     jobs/flink-dist/target/flink: lib/ and plugins/
 * @param flinkConf   the folder of the production config.yaml
 * @param kafka       whether the cluster runs the local Kafka broker too
 * @param queryableProxyPort  TaskManager 1's queryable state proxy port; TaskManager n's is this + n - 1 (so the
 *                            server and Prometheus ports)
 * @param prometheusPort      the JobManager's Prometheus port; TaskManager n's is this + n
 */
public record ClusterConfig(Path workDir, Path distDir, Path flinkConf, int restPort, int rpcPort, int kafkaPort,
                            boolean kafka, int taskManagers, int slots, String taskManagerMemory,
                            int queryableProxyPort, int queryableServerPort, int prometheusPort) {

    public Path confDir() {
        return workDir.resolve("conf");
    }

    public Path logDir() {
        return workDir.resolve("log");
    }

    public Path pidDir() {
        return workDir.resolve("pids");
    }

    public Path libDir() {
        return distDir.resolve("lib");
    }

    public Path pluginsDir() {
        return distDir.resolve("plugins");
    }

    public Path savepointDir() {
        return workDir.resolve("savepoints");
    }

    public String restUrl() {
        return "http://127.0.0.1:" + restPort;
    }

    public String bootstrapServers() {
        return "127.0.0.1:" + kafkaPort;
    }

    /** TaskManager n's (1-based) queryable state proxy port: the one clients connect to (any proxy answers any key). */
    public int proxyPort(int n) {
        return queryableProxyPort + n - 1;
    }

    public int serverPort(int n) {
        return queryableServerPort + n - 1;
    }

    /** The Prometheus reporter's port: the JobManager's (n = 0), TaskManager n's. */
    public int prometheusPort(int n) {
        return prometheusPort + n;
    }

    /** The production configuration with this host's changes, as the processes read it. */
    public Configuration flinkConfiguration() throws IOException {
        if (!Files.isRegularFile(flinkConf.resolve("config.yaml"))) {
            throw new IOException("no config.yaml in " + flinkConf);
        }
        Configuration conf = GlobalConfiguration.loadConfiguration(flinkConf.toString());
        conf.setString("jobmanager.rpc.address", "127.0.0.1");
        conf.setString("jobmanager.rpc.port", Integer.toString(rpcPort));
        conf.setString("jobmanager.bind-host", "127.0.0.1");
        conf.setString("taskmanager.bind-host", "127.0.0.1");
        conf.setString("taskmanager.host", "127.0.0.1");
        conf.setString("rest.address", "127.0.0.1");
        conf.setString("rest.bind-address", "127.0.0.1");
        conf.setString("rest.port", Integer.toString(restPort));
        conf.setString("taskmanager.memory.process.size", taskManagerMemory);
        conf.setString("taskmanager.numberOfTaskSlots", Integer.toString(slots));
        conf.setString("execution.checkpointing.dir", workDir.resolve("checkpoints").toUri().toString());
        conf.setString("execution.checkpointing.savepoint-dir", savepointDir().toUri().toString());
        // Several TaskManagers on one host: each is started with its own ports (the base port + n - 1).
        conf.setString("queryable-state.proxy.ports", Integer.toString(queryableProxyPort));
        conf.setString("queryable-state.server.ports", Integer.toString(queryableServerPort));
        conf.setString("metrics.reporter.prom.port", Integer.toString(prometheusPort));
        conf.setString("io.tmp.dirs", workDir.resolve("jobmanager").resolve("tmp").toString());
        conf.setString("web.tmpdir", workDir.resolve("web").toString());
        conf.setString("web.upload.dir", workDir.resolve("web").resolve("upload").toString());
        return conf;
    }

    /** Writes conf/config.yaml and conf/log4j.properties (each process logs to its own file, log/NAME.log). */
    public void write() throws IOException {
        Files.createDirectories(confDir());
        for (String dir : List.of("checkpoints", "savepoints", "log", "pids", "web/upload", "jobmanager/tmp")) {
            Files.createDirectories(workDir.resolve(dir));
        }
        List<String> lines = ConfigurationUtils.convertConfigToWritableLines(flinkConfiguration(), false);
        Files.writeString(confDir().resolve("config.yaml"), "# Written by bin/cluster from " + flinkConf.resolve("config.yaml")
                + " with this host's addresses, ports, memory and folders.\n" + String.join("\n", lines) + "\n",
                StandardCharsets.UTF_8);
        Files.writeString(confDir().resolve("log4j.properties"), String.join("\n",
                "monitorInterval = 30",
                "rootLogger.level = INFO",
                "rootLogger.appenderRef.file.ref = MainAppender",
                "logger.kafka.name = org.apache.kafka",
                "logger.kafka.level = WARN",
                "appender.main.name = MainAppender",
                "appender.main.type = RollingFile",
                "appender.main.append = true",
                "appender.main.fileName = ${sys:log.file}",
                "appender.main.filePattern = ${sys:log.file}.%i",
                "appender.main.layout.type = PatternLayout",
                "appender.main.layout.pattern = %d{yyyy-MM-dd HH:mm:ss,SSS} %-5p %-60c %x - %m%n",
                "appender.main.policies.type = Policies",
                "appender.main.policies.size.type = SizeBasedTriggeringPolicy",
                "appender.main.policies.size.size = 100MB",
                "appender.main.strategy.type = DefaultRolloverStrategy",
                "appender.main.strategy.max = 5",
                ""), StandardCharsets.UTF_8);
    }
}
