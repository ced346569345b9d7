package dev.streamrec.cluster;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import com.fasterxml.jackson.databind.JsonNode;

import dev.streamrec.client.FlinkRestClient;

/**
 * A Flink standalone session cluster on this host, as separate processes: one JobManager
 * ({@code StandaloneSessionClusterEntrypoint}), N TaskManagers ({@code TaskManagerRunner}) and the Kafka broker of the
 * local stack, each started detached (it outlives the command that started it), its pid in {@code pids/}, its log in
 * {@code log/}. Runs from the jars {@code jobs/flink-dist} assembles from Maven Central and the configuration
 * {@code flink-conf/config.yaml} with only what one host needs changed ({@link ClusterConfig}).
 *
 * <p>The processes are started as Flink's own scripts start them: the memory and CPU options of each come from
 * {@code BashJavaUtils} on the written configuration; every JVM gets the {@code --add-opens} flags Flink needs on Java 17.
 */
public final class StandaloneCluster {
    static final String JOBMANAGER = "jobmanager";
    static final String KAFKA = "kafka";
    private static final String UTILS_PREFIX = "BASH_JAVA_UTILS_EXEC_RESULT:";
    /** Flink's env.java.opts.all on Java 17 (the same flags as bin/java-opens.sh). */
    static final List<String> JAVA_OPENS = List.of(
            "--add-exports=java.base/sun.net.util=ALL-UNNAMED", "--add-exports=java.rmi/sun.rmi.registry=ALL-UNNAMED",
            "--add-exports=java.security.jgss/sun.security.krb5=ALL-UNNAMED", "--add-opens=java.base/java.lang=ALL-UNNAMED",
            "--add-opens=java.base/java.net=ALL-UNNAMED", "--add-opens=java.base/java.io=ALL-UNNAMED",
            "--add-opens=java.base/java.nio=ALL-UNNAMED", "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED",
            "--add-opens=java.base/java.lang.reflect=ALL-UNNAMED", "--add-opens=java.base/java.text=ALL-UNNAMED",
            "--add-opens=java.base/java.time=ALL-UNNAMED", "--add-opens=java.base/java.util=ALL-UNNAMED",
            "--add-opens=java.base/java.util.concurrent=ALL-UNNAMED",
            "--add-opens=java.base/java.util.concurrent.atomic=ALL-UNNAMED",
            "--add-opens=java.base/java.util.concurrent.locks=ALL-UNNAMED");

    private final ClusterConfig config;

    public StandaloneCluster(ClusterConfig config) {
        this.config = config;
    }

    public ClusterConfig config() {
        return config;
    }

    public FlinkRestClient rest() {
        return new FlinkRestClient(config.restUrl(), Duration.ofSeconds(10));
    }

    /**
     * Starts the broker, the JobManager and the TaskManagers (each unless it already runs), then waits until the
     * broker answers and the JobManager has every TaskManager registered.
     */
    public void start(Duration timeout) throws IOException, InterruptedException {
        config.write();
        long deadline = System.nanoTime() + timeout.toNanos();
        if (config.kafka() && !alive(KAFKA)) {
            startKafka();
        }
        if (!alive(JOBMANAGER)) {
            startJobManager();
        }
        for (int i = 1; i <= config.taskManagers(); i++) {
            if (!alive(taskManager(i))) {
                startTaskManager(i);
            }
        }
        if (config.kafka()) {
            await("the Kafka broker to answer at " + config.bootstrapServers() + " (log " + log(KAFKA) + ")", deadline,
                    () -> kafkaReady());
        }
        await("the JobManager's REST API at " + config.restUrl() + " to list " + config.taskManagers()
                + " registered TaskManagers (logs in " + config.logDir() + ")", deadline,
                () -> registeredTaskManagers() >= config.taskManagers());
    }

    /** Starts TaskManager {@code n} (1-based), e.g. again after {@link #kill}; returns at once. */
    public void startTaskManager(int n) throws IOException {
        String name = taskManager(n);
        Path tmp = Files.createDirectories(config.workDir().resolve(name).resolve("tmp"));
        // Ports of its own, so TaskManager n is always at the same proxy, server and metrics port.
        List<String> dynamic = new ArrayList<>(List.of(
                "-D", "taskmanager.resource-id=" + name,
                "-D", "io.tmp.dirs=" + tmp,
                "-D", "queryable-state.proxy.ports=" + config.proxyPort(n),
                "-D", "queryable-state.server.ports=" + config.serverPort(n),
                "-D", "metrics.reporter.prom.port=" + config.prometheusPort(n)));
        Resources resources = resources("GET_TM_RESOURCE_PARAMS", dynamic);
        List<String> args = new ArrayList<>(List.of("--configDir", config.confDir().toString()));
        args.addAll(resources.dynamicProperties());
        args.addAll(dynamic);
        launch(name, resources.jvmOptions(), "org.apache.flink.runtime.taskexecutor.TaskManagerRunner", args);
    }

    private void startJobManager() throws IOException {
        Resources resources = resources("GET_JM_RESOURCE_PARAMS", List.of());
        List<String> args = new ArrayList<>(List.of("--configDir", config.confDir().toString(), "--executionMode", "cluster"));
        args.addAll(resources.dynamicProperties());
        args.addAll(List.of("-D", "metrics.reporter.prom.port=" + config.prometheusPort(0)));
        launch(JOBMANAGER, resources.jvmOptions(), "org.apache.flink.runtime.entrypoint.StandaloneSessionClusterEntrypoint", args);
    }

    /** The broker: the test kit's embedded broker main (a real Kafka broker in its own JVM) on the configured port. */
    private void startKafka() throws IOException {
        Path argFile = config.workDir().resolve("kafka.args");
        Files.writeString(argFile, "-cp \"" + System.getProperty("java.class.path").replace("\\", "\\\\") + "\"\n",
                StandardCharsets.UTF_8);
        List<String> cmd = new ArrayList<>(List.of(java(), "-Xmx256m", "-XX:TieredStopAtLevel=1",
                "-Djava.io.tmpdir=" + Files.createDirectories(config.workDir().resolve("kafka")),
                "@" + argFile, "dev.streamrec.testkit.EmbeddedKafkaBroker", Integer.toString(config.kafkaPort())));
        spawn(KAFKA, cmd, Map.of());
    }

    private void launch(String name, List<String> jvmOptions, String mainClass, List<String> args) throws IOException {
        List<String> cmd = new ArrayList<>();
        cmd.add(java());
        cmd.addAll(jvmOptions);
        cmd.addAll(JAVA_OPENS);
        cmd.add("-Dlog.file=" + log(name));
        cmd.add("-Dlog4j.configurationFile=" + config.confDir().resolve("log4j.properties").toUri());
        cmd.add("-Dlog4j2.disableJmx=true");
        cmd.add("-cp");
        cmd.add(config.libDir() + "/*");
        cmd.add(mainClass);
        cmd.addAll(args);
        spawn(name, cmd, Map.of("FLINK_CONF_DIR", config.confDir().toString(), "FLINK_LIB_DIR", config.libDir().toString(),
                "FLINK_PLUGINS_DIR", config.pluginsDir().toString()));
    }

    private void spawn(String name, List<String> cmd, Map<String, String> env) throws IOException {
        Files.createDirectories(config.logDir());
        Files.createDirectories(config.pidDir());
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(config.workDir().toFile()).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(config.logDir().resolve(name + ".out").toFile()))
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
        pb.environment().putAll(env);
        Process process = pb.start();
        Files.writeString(pidFile(name), Long.toString(process.pid()), StandardCharsets.UTF_8);
    }

    /** The JVM and dynamic options Flink's scripts would start a process with: BashJavaUtils on the written config. */
    private Resources resources(String command, List<String> dynamic) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(java(), "-Xmx256m", "-XX:TieredStopAtLevel=1"));
        cmd.addAll(JAVA_OPENS);
        cmd.addAll(List.of("-Dlog4j2.level=WARN", "-cp", config.libDir() + "/*", "org.apache.flink.runtime.util.bash.BashJavaUtils",
                command, "--configDir", config.confDir().toString()));
        cmd.addAll(dynamic);
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        try {
            if (!p.waitFor(2, TimeUnit.MINUTES) || p.exitValue() != 0) {
                throw new IOException("BashJavaUtils " + command + " failed: " + out);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        }
        List<String> results = out.lines().filter(l -> l.startsWith(UTILS_PREFIX))
                .map(l -> l.substring(UTILS_PREFIX.length()).trim()).toList();
        if (results.size() < 2) {
            throw new IOException("BashJavaUtils " + command + " printed no JVM and dynamic options: " + out);
        }
        // Line 1: JVM options (-Xmx.. -Xms.. -XX:MaxDirectMemorySize=.. -XX:MaxMetaspaceSize=..); the last: "-D k=v -D k=v".
        List<String> jvm = List.of(results.get(0).split("\\s+"));
        List<String> props = List.of(results.get(results.size() - 1).split("\\s+"));
        return new Resources(jvm, props);
    }

    private record Resources(List<String> jvmOptions, List<String> dynamicProperties) {}

    /** SIGKILL to a process (no shutdown hook, no goodbye to the JobManager): a machine or container dying. */
    public void kill(String name) throws IOException {
        Optional<ProcessHandle> p = process(name);
        if (p.isPresent()) {
            p.get().destroyForcibly();
            try {
                p.get().onExit().get(1, TimeUnit.MINUTES);
            } catch (Exception e) {
                throw new IOException(name + " (pid " + p.get().pid() + ") did not exit after SIGKILL within 1 minute", e);
            }
        }
        Files.deleteIfExists(pidFile(name));
    }

    /** Stops every process: SIGTERM (Flink and the broker shut down cleanly), SIGKILL after {@code grace}. */
    public List<String> stop(Duration grace) throws IOException {
        List<String> stopped = new ArrayList<>();
        List<String> order = new ArrayList<>();
        for (int i = config.taskManagers() + 8; i >= 1; i--) {
            order.add(taskManager(i));
        }
        order.add(JOBMANAGER);
        order.add(KAFKA);
        for (String name : order) {
            Optional<ProcessHandle> p = process(name);
            if (p.isPresent()) {
                p.get().destroy();
                try {
                    p.get().onExit().get(grace.toMillis(), TimeUnit.MILLISECONDS);
                } catch (Exception e) {
                    p.get().destroyForcibly();
                }
                stopped.add(name + " (pid " + p.get().pid() + ")");
            }
            Files.deleteIfExists(pidFile(name));
        }
        return stopped;
    }

    /** Which of the cluster's processes run, by name. */
    public Map<String, Long> running() {
        Map<String, Long> running = new java.util.LinkedHashMap<>();
        List<String> names = new ArrayList<>(List.of(KAFKA, JOBMANAGER));
        for (int i = 1; i <= config.taskManagers() + 8; i++) {
            names.add(taskManager(i));
        }
        for (String name : names) {
            process(name).ifPresent(p -> running.put(name, p.pid()));
        }
        return running;
    }

    public static String taskManager(int n) {
        return "taskmanager-" + n;
    }

    public Path log(String name) {
        return config.logDir().resolve(name + ".log");
    }

    boolean alive(String name) {
        return process(name).isPresent();
    }

    /** The live process a pid file names (a pid reused by another program is told apart by its command line). */
    Optional<ProcessHandle> process(String name) {
        Path file = pidFile(name);
        if (!Files.isRegularFile(file)) {
            return Optional.empty();
        }
        try {
            long pid = Long.parseLong(Files.readString(file, StandardCharsets.UTF_8).trim());
            return ProcessHandle.of(pid).filter(ProcessHandle::isAlive)
                    .filter(p -> p.info().commandLine().map(c -> c.contains("java")).orElse(true));
        } catch (IOException | NumberFormatException e) {
            return Optional.empty();
        }
    }

    private Path pidFile(String name) {
        return config.pidDir().resolve(name + ".pid");
    }

    /** TaskManagers the JobManager has registered (0 while its REST API does not answer). */
    public int registeredTaskManagers() {
        try {
            JsonNode tms = rest().get("/taskmanagers").path("taskmanagers");
            return tms.size();
        } catch (IOException e) {
            return 0;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return 0;
        }
    }

    private boolean kafkaReady() {
        Properties props = new Properties();
        props.put("bootstrap.servers", config.bootstrapServers());
        props.put("request.timeout.ms", "3000");
        props.put("default.api.timeout.ms", "3000");
        try (org.apache.kafka.clients.admin.Admin admin = org.apache.kafka.clients.admin.Admin.create(props)) {
            admin.describeCluster().nodes().get(5, TimeUnit.SECONDS);
            return true;
        } catch (Exception e) {
            return false;
        }
    }

    static void await(String what, long deadlineNanos, BooleanSupplier condition) throws InterruptedException {
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadlineNanos) {
                throw new IllegalStateException("timed out waiting for " + what);
            }
            Thread.sleep(500);
        }
    }

    private static String java() {
        return Path.of(System.getProperty("java.home"), "bin", "java").toString();
    }

}
