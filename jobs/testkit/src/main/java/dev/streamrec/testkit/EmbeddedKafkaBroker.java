package dev.streamrec.testkit;

import java.io.File;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.DescribeClusterOptions;
import org.apache.kafka.common.Uuid;


/**
 * A real single-node Apache Kafka broker (KRaft, combined broker + controller) for tests, the local stack and benchmarks.
 *
 * <p>The broker runs in a child JVM started from this JVM's {@code java.class.path} (which must hold {@code kafka_2.13}
 * and its dependencies). The child's main class is {@link ChildMain}: it formats the storage directory
 * ({@code kafka.tools.StorageTool format}) and then runs {@code kafka.Kafka server.properties}, so only one JVM is started.
 * It also exits by itself when this JVM dies, so a killed test run leaves no stray broker behind. All data and the
 * broker's log live in a temporary directory that {@link #close()} deletes.
 *
 * <p>The configuration allows transactions on one node (replication factors and min ISR of 1), turns off topic auto
 * creation and the initial consumer group rebalance delay, and keeps the default {@code transaction.max.timeout.ms}
 * (15 minutes).
 */
public final class EmbeddedKafkaBroker implements AutoCloseable {
    private static final String HOST = "127.0.0.1";
    private static final Set<Integer> HANDED_OUT_PORTS = ConcurrentHashMap.newKeySet();
    /** Generous: a broker JVM on a loaded 2-core machine was seen to need over 90 s (it returns as soon as it answers). */
    private static final Duration DEFAULT_STARTUP_TIMEOUT = Duration.ofMinutes(5);
    /** System property with extra broker JVM options (whitespace separated), appended after all others. */
    public static final String JVM_OPTS_PROPERTY = "streamrec.kafka.jvmOpts";

    private final Path dir;
    private final Path logFile;
    private final int port;
    private final int controllerPort;
    private final String clusterId;
    private final Process process;
    private final Thread shutdownHook;
    private final Duration startupTime;
    /** Client settings of the SASL listener (empty: plaintext). */
    private final Map<String, String> clientLogin;
    private volatile boolean closed;

    private EmbeddedKafkaBroker(Builder b) throws IOException {
        long t0 = System.nanoTime();
        this.dir = Files.createTempDirectory("embedded-kafka-");
        this.logFile = dir.resolve("broker.log");
        this.port = b.port > 0 ? b.port : freePort();
        int cport;
        do { // freePort never repeats its own ports, but an explicit client port is not one of them
            cport = freePort();
        } while (cport == port);
        this.controllerPort = cport;
        this.clusterId = Uuid.randomUuid().toString();

        Path dataDir = Files.createDirectories(dir.resolve("data"));
        Path propsFile = dir.resolve("server.properties");
        Properties props = serverProperties(dataDir);
        this.clientLogin = b.saslUser == null ? Map.of() : saslPlain(props, b.saslUser, b.saslPassword);
        b.properties.forEach(props::setProperty);
        try (OutputStream out = Files.newOutputStream(propsFile)) {
            props.store(out, "EmbeddedKafkaBroker");
        }
        Path log4jFile = dir.resolve("log4j2.properties");
        Files.writeString(log4jFile, String.join("\n",
                "rootLogger.level = INFO",
                "rootLogger.appenderRef.file.ref = file",
                "appender.file.type = File",
                "appender.file.name = file",
                "appender.file.fileName = " + logFile.toAbsolutePath().toString().replace("\\", "/"),
                "appender.file.layout.type = PatternLayout",
                "appender.file.layout.pattern = [%d] %p %m (%c)%n",
                "logger.state.name = state.change.logger",
                "logger.state.level = WARN",
                ""), StandardCharsets.UTF_8);

        // The class path can be long (hundreds of jars); pass it through an argument file rather than the command line.
        Path argFile = dir.resolve("jvm.args");
        Files.writeString(argFile, "-cp \"" + escapeArgFile(absoluteClassPath()) + "\"\n", StandardCharsets.UTF_8);

        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.add("-Xms128m");
        cmd.add("-Xmx" + b.maxHeap);
        cmd.add("-XX:+UseG1GC");
        if (b.fastStartup) {
            // C1 only: about 2 s faster to start on a small machine, and it leaves the CPUs to the test JVM.
            cmd.add("-XX:TieredStopAtLevel=1");
        }
        cmd.add("-Djava.awt.headless=true");
        cmd.addAll(b.jvmOptions);
        String extra = System.getProperty(JVM_OPTS_PROPERTY, "").trim();
        if (!extra.isEmpty()) {
            cmd.addAll(List.of(extra.split("\\s+")));
        }
        cmd.add("-Dlog4j2.configurationFile=" + log4jFile.toAbsolutePath());
        cmd.add("-Dlog4j.configurationFile=" + log4jFile.toAbsolutePath());
        cmd.add("-Dlog4j2.disableJmx=true");
        cmd.add("@" + argFile.toAbsolutePath());
        cmd.add(ChildMain.class.getName());
        cmd.add(Long.toString(ProcessHandle.current().pid()));
        cmd.add(clusterId);
        cmd.add(propsFile.toAbsolutePath().toString());

        ProcessBuilder pb = new ProcessBuilder(cmd)
                .directory(dir.toFile())
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve("stdout.log").toFile()));
        this.shutdownHook = new Thread(this::stopQuietly, "embedded-kafka-shutdown");
        Process started;
        try {
            started = pb.start();
        } catch (IOException e) {
            TempDirs.deleteRecursively(dir);
            throw e;
        }
        this.process = started;
        Runtime.getRuntime().addShutdownHook(shutdownHook);
        if (!clientLogin.isEmpty()) {
            KafkaLogins.register(bootstrapServers(), clientLogin);
        }
        try {
            awaitReady(b.startupTimeout);
        } catch (RuntimeException | Error e) {
            String tail = tail(dir.resolve("stdout.log"), 40) + "\n" + tail(logFile, 40);
            close();
            throw new IllegalStateException("Kafka broker did not start: " + e.getMessage() + "\n--- broker output ---\n" + tail, e);
        }
        this.startupTime = Duration.ofNanos(System.nanoTime() - t0);
    }

    /** Starts a broker on a free port. */
    public static EmbeddedKafkaBroker start() {
        return builder().start();
    }

    /** Starts a broker on {@code port} (0: a free port). */
    public static EmbeddedKafkaBroker start(int port) {
        return builder().port(port).start();
    }

    /** Starts a broker on {@code port} (0: a free port) with extra or overriding {@code server.properties} entries. */
    public static EmbeddedKafkaBroker start(int port, Map<String, String> serverProperties) {
        return builder().port(port).properties(serverProperties).start();
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Options for {@link EmbeddedKafkaBroker}. */
    public static final class Builder {
        private int port;
        private final Map<String, String> properties = new LinkedHashMap<>();
        private final List<String> jvmOptions = new ArrayList<>();
        private String maxHeap = "768m";
        private boolean fastStartup = true;
        private Duration startupTimeout = DEFAULT_STARTUP_TIMEOUT;
        private String saslUser;
        private String saslPassword;

        private Builder() {}

        /** The client port (default 0: a free port). */
        public Builder port(int port) {
            this.port = port;
            return this;
        }

        /** Adds or overrides one {@code server.properties} entry. */
        public Builder property(String key, String value) {
            properties.put(key, value);
            return this;
        }

        public Builder properties(Map<String, String> serverProperties) {
            properties.putAll(serverProperties);
            return this;
        }

        /** An extra option for the broker JVM (after the defaults, so it can override them). */
        public Builder jvmOption(String option) {
            jvmOptions.add(option);
            return this;
        }

        /** The broker JVM's {@code -Xmx} (default {@code 768m}). */
        public Builder maxHeap(String maxHeap) {
            this.maxHeap = maxHeap;
            return this;
        }

        /**
         * Whether the broker JVM runs with the C1 compiler only ({@code -XX:TieredStopAtLevel=1}; default true): faster
         * start, lower peak throughput. Benchmarks that load the broker should turn it off.
         */
        public Builder fastStartup(boolean fastStartup) {
            this.fastStartup = fastStartup;
            return this;
        }

        /** A SASL_PLAINTEXT client listener (PLAIN mechanism) that accepts {@code user} with {@code password}. */
        public Builder saslPlain(String user, String password) {
            this.saslUser = user;
            this.saslPassword = password;
            return this;
        }

        public Builder startupTimeout(Duration startupTimeout) {
            this.startupTimeout = startupTimeout;
            return this;
        }

        /** Starts the broker and waits until it answers {@code describeCluster}. */
        public EmbeddedKafkaBroker start() {
            try {
                return new EmbeddedKafkaBroker(this);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }

    /** {@code 127.0.0.1:PORT}. */
    public String bootstrapServers() {
        return HOST + ":" + port;
    }

    public int port() {
        return port;
    }

    public String clusterId() {
        return clusterId;
    }

    /** The broker's own log (log4j output of the child JVM). Early JVM output (and crashes) go to {@code stdout.log} beside it. */
    public Path logFile() {
        return logFile;
    }

    /** The temporary directory holding the configuration, data and logs (deleted by {@link #close()}). */
    public Path directory() {
        return dir;
    }

    /** Wall time from the start of the constructor until the broker answered {@code describeCluster}. */
    public Duration startupTime() {
        return startupTime;
    }

    /** Stops the broker (SIGTERM, then SIGKILL after 10 s) and deletes the temporary directory. Idempotent. */
    @Override
    public void close() {
        KafkaLogins.unregister(bootstrapServers());
        stopQuietly();
        try {
            Runtime.getRuntime().removeShutdownHook(shutdownHook);
        } catch (IllegalStateException | NullPointerException ignored) {
            // JVM is already shutting down, or the constructor failed before the hook was registered
        }
    }

    @Override
    public String toString() {
        return "EmbeddedKafkaBroker{" + bootstrapServers() + ", dir=" + dir + "}";
    }

    private synchronized void stopQuietly() {
        if (closed) {
            return;
        }
        closed = true;
        if (process != null && process.isAlive()) {
            process.destroy();
            try {
                if (!process.waitFor(10, TimeUnit.SECONDS)) {
                    process.destroyForcibly();
                    process.waitFor(10, TimeUnit.SECONDS);
                }
            } catch (InterruptedException e) {
                process.destroyForcibly();
                Thread.currentThread().interrupt();
            }
        }
        TempDirs.deleteRecursively(dir);
    }

    private Properties serverProperties(Path dataDir) {
        Properties p = new Properties();
        p.setProperty("process.roles", "broker,controller");
        p.setProperty("node.id", "1");
        p.setProperty("controller.quorum.voters", "1@" + HOST + ":" + controllerPort);
        p.setProperty("listeners", "PLAINTEXT://" + HOST + ":" + port + ",CONTROLLER://" + HOST + ":" + controllerPort);
        p.setProperty("advertised.listeners", "PLAINTEXT://" + HOST + ":" + port);
        p.setProperty("listener.security.protocol.map", "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT");
        p.setProperty("controller.listener.names", "CONTROLLER");
        p.setProperty("inter.broker.listener.name", "PLAINTEXT");
        p.setProperty("log.dirs", dataDir.toAbsolutePath().toString());
        p.setProperty("num.partitions", "1");
        p.setProperty("default.replication.factor", "1");
        p.setProperty("min.insync.replicas", "1");
        p.setProperty("offsets.topic.replication.factor", "1");
        p.setProperty("offsets.topic.num.partitions", "4");
        p.setProperty("transaction.state.log.replication.factor", "1");
        p.setProperty("transaction.state.log.min.isr", "1");
        p.setProperty("transaction.state.log.num.partitions", "4");
        p.setProperty("share.coordinator.state.topic.replication.factor", "1");
        p.setProperty("share.coordinator.state.topic.min.isr", "1");
        p.setProperty("group.initial.rebalance.delay.ms", "0");
        p.setProperty("auto.create.topics.enable", "false");
        p.setProperty("delete.topic.enable", "true");
        // Small segments and a fast cleaner so compacted topics behave like compacted topics in tests.
        p.setProperty("log.segment.bytes", Integer.toString(16 * 1024 * 1024));
        p.setProperty("log.cleaner.dedupe.buffer.size", Integer.toString(8 * 1024 * 1024));
        p.setProperty("log.cleaner.threads", "1");
        p.setProperty("log.flush.interval.messages", Long.toString(Long.MAX_VALUE));
        p.setProperty("num.network.threads", "2");
        p.setProperty("num.io.threads", "4");
        p.setProperty("num.recovery.threads.per.data.dir", "1");
        p.setProperty("background.threads", "2");
        return p;
    }

    /**
     * Makes the client listener SASL_PLAINTEXT with the PLAIN mechanism: {@code user} with {@code password}, plus the
     * broker's own login for its inter-broker traffic. Returns the client settings for {@code user}.
     */
    private Map<String, String> saslPlain(Properties p, String user, String password) {
        p.setProperty("listeners", "SASL_PLAINTEXT://" + HOST + ":" + port + ",CONTROLLER://" + HOST + ":" + controllerPort);
        p.setProperty("advertised.listeners", "SASL_PLAINTEXT://" + HOST + ":" + port);
        p.setProperty("listener.security.protocol.map", "SASL_PLAINTEXT:SASL_PLAINTEXT,CONTROLLER:PLAINTEXT");
        p.setProperty("inter.broker.listener.name", "SASL_PLAINTEXT");
        p.setProperty("sasl.enabled.mechanisms", "PLAIN");
        p.setProperty("sasl.mechanism.inter.broker.protocol", "PLAIN");
        p.setProperty("listener.name.sasl_plaintext.plain.sasl.jaas.config",
                "org.apache.kafka.common.security.plain.PlainLoginModule required username=\"broker\" password=\"broker-secret\" "
                        + "user_broker=\"broker-secret\" user_" + user + "=\"" + password + "\";");
        return saslPlainClient(user, password);
    }

    /** Client settings that log in to a SASL_PLAINTEXT listener with PLAIN as {@code user}. */
    public static Map<String, String> saslPlainClient(String user, String password) {
        return Map.of("security.protocol", "SASL_PLAINTEXT", "sasl.mechanism", "PLAIN",
                "sasl.jaas.config", "org.apache.kafka.common.security.plain.PlainLoginModule required username=\""
                        + user + "\" password=\"" + password + "\";");
    }

    private void awaitReady(Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        Properties admin = new Properties();
        admin.putAll(clientLogin);
        admin.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers());
        admin.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, "5000");
        admin.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "5000");
        admin.put(AdminClientConfig.RECONNECT_BACKOFF_MS_CONFIG, "50");
        admin.put(AdminClientConfig.RECONNECT_BACKOFF_MAX_MS_CONFIG, "200");
        admin.put(AdminClientConfig.RETRY_BACKOFF_MS_CONFIG, "50");
        Exception last = null;
        // Load the admin client's classes while the broker boots ...
        new AdminClientConfig(admin);
        for (String c : new String[] {"org.apache.kafka.clients.admin.KafkaAdminClient",
                "org.apache.kafka.clients.NetworkClient", "org.apache.kafka.common.network.Selector",
                "org.apache.kafka.common.requests.DescribeClusterResponse"}) {
            try {
                Class.forName(c, true, EmbeddedKafkaBroker.class.getClassLoader());
            } catch (ClassNotFoundException | LinkageError ignored) {
                // only a warm-up
            }
        }
        // ... but connect only once the listener is up: an AdminClient polling a closed port logs a warning per attempt.
        while (!portOpen()) {
            checkAlive();
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("the broker JVM did not open its listener " + HOST + ":" + port + " within "
                        + timeout + " (waited for the port to accept connections)");
            }
            sleep(50);
        }
        try (Admin client = Admin.create(admin)) {
            while (System.nanoTime() < deadline) {
                checkAlive();
                try {
                    var cluster = client.describeCluster(new DescribeClusterOptions().timeoutMs(5000));
                    if (!cluster.nodes().get(6, TimeUnit.SECONDS).isEmpty()
                            && cluster.controller().get(6, TimeUnit.SECONDS) != null) {
                        return;
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IllegalStateException("interrupted", e);
                } catch (Exception e) {
                    last = e;
                }
                sleep(100);
            }
        }
        throw new IllegalStateException("the broker at " + bootstrapServers() + " did not answer describeCluster with a node and a "
                + "controller within " + timeout + " (waited for KRaft to elect itself and the broker to register)", last);
    }

    private void checkAlive() {
        if (!process.isAlive()) {
            throw new IllegalStateException("broker process exited with code " + process.exitValue());
        }
    }

    private boolean portOpen() {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(HOST, port), 200);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }

    /**
     * A free TCP port on 127.0.0.1 (free when asked; another process could still take it before it is bound). Never the
     * same port twice in this JVM: the kernel may hand a probed port out again before its user has bound it (a
     * MiniCluster's REST endpoint was seen failing to bind the port the broker starting beside it had been given).
     */
    public static int freePort() {
        while (true) {
            int port;
            try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getByName(HOST))) {
                s.setReuseAddress(true);
                port = s.getLocalPort();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            if (HANDED_OUT_PORTS.add(port)) {
                return port;
            }
        }
    }

    /** This JVM's class path with every entry made absolute (the child runs in the temporary directory). */
    private static String absoluteClassPath() {
        StringBuilder sb = new StringBuilder();
        for (String entry : System.getProperty("java.class.path").split(File.pathSeparator)) {
            if (entry.isEmpty()) {
                continue;
            }
            if (sb.length() > 0) {
                sb.append(File.pathSeparatorChar);
            }
            // keep wildcard entries ("lib/*") as wildcards
            sb.append(entry.endsWith("*")
                    ? Path.of(entry.substring(0, entry.length() - 1)).toAbsolutePath() + File.separator + "*"
                    : Path.of(entry).toAbsolutePath().toString());
        }
        return sb.toString();
    }

    private static String escapeArgFile(String s) {
        return s.replace("\\", "\\\\").replace("\"", "\\\"");
    }

    private static String tail(Path file, int lines) {
        try {
            if (!Files.exists(file)) {
                return "(no " + file.getFileName() + ")";
            }
            List<String> all = Files.readAllLines(file, StandardCharsets.UTF_8);
            return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
        } catch (IOException | RuntimeException e) {
            return "(cannot read " + file + ": " + e + ")";
        }
    }

    /**
     * Main class of the child JVM: {@code ChildMain <parentPid> <clusterId> <server.properties>}. Formats the storage
     * and runs the broker; exits when the parent process is gone.
     */
    public static final class ChildMain {
        private ChildMain() {}

        public static void main(String[] args) throws Exception {
            long parentPid = Long.parseLong(args[0]);
            String clusterId = args[1];
            String propsFile = args[2];
            // An orphaned broker (parent killed with SIGKILL, no shutdown hook ran) removes its directory and stops.
            Path brokerDir = Path.of(propsFile).toAbsolutePath().getParent();
            Runnable orphaned = () -> {
                TempDirs.deleteRecursively(brokerDir);
                Runtime.getRuntime().halt(0);
            };
            ProcessHandle.of(parentPid).ifPresentOrElse(parent -> parent.onExit().thenRun(orphaned), orphaned);

            int rc = kafka.tools.StorageTool$.MODULE$.execute(
                    new String[] {"format", "-t", clusterId, "-c", propsFile, "--ignore-formatted"}, System.out);
            if (rc != 0) {
                System.err.println("kafka storage format failed with exit code " + rc);
                System.exit(rc);
            }
            kafka.Kafka.main(new String[] {propsFile});
        }
    }

    /** Runs a broker until killed: {@code EmbeddedKafkaBroker [port]}. Prints the bootstrap servers. */
    public static void main(String[] args) throws Exception {
        int port = args.length > 0 ? Integer.parseInt(args[0]) : 0;
        EmbeddedKafkaBroker broker = start(port);
        System.out.println("Kafka broker at " + broker.bootstrapServers() + " (log " + broker.logFile() + ", started in "
                + broker.startupTime().toMillis() + " ms)");
        Thread.currentThread().join();
    }
}
