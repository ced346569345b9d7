package dev.streamrec.testkit;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.URL;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import org.apache.flink.api.common.JobID;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.core.execution.SavepointFormatType;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.DisabledIfSystemProperty;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import dev.streamrec.jobs.JobSetup;
import dev.streamrec.jobs.PipelineJob;
import dev.streamrec.jobs.config.JobConfig;

/**
 * The released savepoints a job module's state-compatibility test restores, and the generator that writes a new
 * release's. {@code src/test/resources/savepoints/<release>/} of the module holds {@code savepoint/} (the Flink
 * savepoint directory, relocatable: its {@code _metadata} refers to its files by relative path),
 * {@code savepoint.properties} (what the restore test needs: topic prefix, partitions, data version and fingerprint,
 * the input topics' end offsets) and a README saying which commit made it and how. With
 * {@code -Dsavepoint.generate=<release>} the test writes a new release's directory instead of restoring.
 *
 * <p>A restore test ({@link EachRelease}): {@link #prepareRestore} (the release's metadata, checked against the test's
 * data set, and its topics), the records the savepoint had read produced again, {@link #assertInputAsRecorded},
 * {@link #restore} (the job started from the savepoint, which its checkpoint statistics must name), then the job's own
 * checks. A generator ({@link Generator}): {@link #startGeneration}, the job run on the data,
 * {@link #stopWithSavepoint}, {@link Generation#metadata} and {@link Generation#store}. What the data is and what the
 * job must compute stays in each job's test sources.
 */
public final class ReleasedSavepoints {
    /** The system property that asks for a new release's savepoint: {@code -Dsavepoint.generate=<release>}. */
    public static final String GENERATE_PROPERTY = "savepoint.generate";
    /** For {@code @MethodSource}: {@link #releases()}. */
    public static final String RELEASES = "dev.streamrec.testkit.ReleasedSavepoints#releases";
    public static final String METADATA = "savepoint.properties";
    public static final String SAVEPOINT = "savepoint";
    private static final String ROOT = "savepoints";
    private static final ObjectMapper JSON = new ObjectMapper();

    private ReleasedSavepoints() {}

    /**
     * A restore test: runs once per release on the test class path ({@link #releases()}, oldest first), with the
     * release's name as its argument; not while a release is generated ({@code -Dsavepoint.generate}).
     */
    @Target(ElementType.METHOD)
    @Retention(RetentionPolicy.RUNTIME)
    @ParameterizedTest(name = "savepoint of release {0}")
    @MethodSource(RELEASES)
    @DisabledIfSystemProperty(named = GENERATE_PROPERTY, matches = ".+")
    public @interface EachRelease {}

    /** The generator of a new release's savepoint: runs only with {@code -Dsavepoint.generate=<release>}. */
    @Target(ElementType.METHOD)
    @Retention(RetentionPolicy.RUNTIME)
    @Test
    @EnabledIfSystemProperty(named = GENERATE_PROPERTY, matches = ".+")
    public @interface Generator {}

    // ------------------------------------------------------------------ the releases on the test class path

    /** Every release with a savepoint on the test class path, oldest first. */
    public static List<String> releases() {
        Path root = classPathRoot();
        if (root == null) {
            return List.of();
        }
        try (Stream<Path> dirs = Files.list(root)) {
            return dirs.filter(d -> Files.isRegularFile(d.resolve(METADATA)))
                    .map(d -> d.getFileName().toString())
                    .sorted(ReleasedSavepoints::compareVersions)
                    .toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The release's directory on the test class path ({@code target/test-classes/savepoints/<release>}). */
    public static Path releaseDir(String release) {
        Path root = classPathRoot();
        if (root == null || !Files.isDirectory(root.resolve(release))) {
            throw new IllegalStateException("no savepoint of release " + release + " on the test class path");
        }
        return root.resolve(release);
    }

    public static Properties metadata(String release) {
        Properties p = new Properties();
        try (InputStream in = Files.newInputStream(releaseDir(release).resolve(METADATA))) {
            p.load(in);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return p;
    }

    /** The URI to restore from: the copy on the test class path (not where it was taken: savepoints are relocatable). */
    public static String savepointUri(String release) {
        Path dir = releaseDir(release).resolve(SAVEPOINT);
        if (!Files.isRegularFile(dir.resolve("_metadata"))) {
            throw new IllegalStateException("no _metadata in " + dir);
        }
        return dir.toUri().toString();
    }

    /** The recorded end offsets ({@code offsets.<topic>} entries) of a release's metadata. */
    public static Map<String, String> recordedOffsets(Properties metadata) {
        Map<String, String> out = new TreeMap<>();
        metadata.stringPropertyNames().stream().filter(k -> k.startsWith("offsets."))
                .forEach(k -> out.put(k.substring("offsets.".length()), metadata.getProperty(k)));
        return out;
    }

    // ------------------------------------------------------------------ restoring a release

    /**
     * The metadata of {@code release}, checked against the test's data set: a savepoint of {@code job}, from data
     * version {@code dataVersion}, whose generator still makes the data recorded ({@code fingerprint}); then creates
     * the release's topics (its topic prefix and partitions) on the cluster's broker.
     */
    public static Properties prepareRestore(PipelineTestCluster cluster, String release, String job, int dataVersion,
                                            String fingerprint) {
        Properties meta = metadata(release);
        assertThat(meta.getProperty("job")).isEqualTo(job);
        assertThat(meta.getProperty("data.version")).as("data version of release %s", release)
                .isEqualTo(String.valueOf(dataVersion));
        assertThat(fingerprint).as("the generator still makes the data of release %s", release)
                .isEqualTo(meta.getProperty("data.fingerprint"));
        TopicAdmin.createPipelineTopics(cluster.bootstrapServers(), meta.getProperty("topic.prefix"),
                Integer.parseInt(meta.getProperty("partitions")));
        return meta;
    }

    /** Asserts that the input topics hold what the savepoint of {@code release} had read: the end offsets it recorded. */
    public static void assertInputAsRecorded(String bootstrap, List<String> inputTopics, String release, Properties meta)
            throws Exception {
        assertThat(endOffsets(bootstrap, inputTopics)).as("input topics hold what the savepoint of %s had read", release)
                .isEqualTo(recordedOffsets(meta));
    }

    /**
     * The job's arguments with {@code --source.starting-offsets latest}: starting offsets apply only to a job without
     * restored source state, so a restored job reads on from the savepoint's offsets, while one that lost them would
     * skip everything before the savepoint (and fail the checks) instead of silently re-reading it.
     */
    public static String[] startingFromLatest(String[] args) {
        String[] out = args.clone();
        for (int i = 0; i < out.length - 1; i++) {
            if (out[i].equals("--source.starting-offsets")) {
                out[i + 1] = "latest";
                return out;
            }
        }
        throw new IllegalArgumentException("no --source.starting-offsets in the job's arguments");
    }

    /**
     * Starts {@code job} from the savepoint of {@code release} (no state may be left unrestored), waits until it runs
     * and asserts that it was restored from that savepoint ({@link #assertRestoredFrom}).
     */
    public static JobClient restore(PipelineTestCluster cluster, PipelineJob job, JobConfig config, String release)
            throws Exception {
        String savepoint = savepointUri(release);
        JobClient client = submitFrom(cluster, job, config, savepoint);
        assertRestoredFrom(cluster.restPort(), client.getJobID(), savepoint);
        return client;
    }

    /** Submits {@code job} to start from {@code savepointUri} ({@code execution.state-recovery.path}); waits (2 minutes) until it runs. */
    public static JobClient submitFrom(PipelineTestCluster cluster, PipelineJob job, JobConfig config, String savepointUri)
            throws Exception {
        Configuration restore = new Configuration();
        restore.setString("execution.state-recovery.path", savepointUri);
        JobClient client = JobSetup.submit(job, cluster.environment(restore), config);
        cluster.awaitJobRunning(client.getJobID(), Duration.ofMinutes(2));
        return client;
    }

    /**
     * Asserts that the job was started from the savepoint at {@code savepointUri}, as the job's checkpoint statistics
     * say (REST {@code /jobs/<id>/checkpoints}, {@code latest.restored}): a job that silently started empty and re-read
     * the topics would otherwise end with the same results.
     */
    public static void assertRestoredFrom(int restPort, JobID job, String savepointUri) throws Exception {
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(1);
        JsonNode restored = null;
        while (System.nanoTime() < deadline) {
            restored = restGet(http, restPort, "/jobs/" + job + "/checkpoints").path("latest").path("restored");
            if (restored.hasNonNull("external_path")) {
                break;
            }
            Thread.sleep(200);
        }
        assertThat(restored == null ? null : restored.path("external_path").asText(null))
                .as("the job restored from a savepoint (checkpoint statistics, waited 1 minute)").isNotNull();
        assertThat(restored.path("is_savepoint").asBoolean()).as("restored from a savepoint").isTrue();
        assertThat(toPath(restored.path("external_path").asText().replaceFirst("^file:/+", "file:///")))
                .as("the savepoint restored").isEqualTo(toPath(savepointUri));
    }

    private static JsonNode restGet(HttpClient http, int restPort, String path) throws IOException, InterruptedException {
        URI uri = URI.create("http://127.0.0.1:" + restPort + path);
        HttpResponse<String> response = http.send(HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(10))
                .header("Accept", "application/json").build(), HttpResponse.BodyHandlers.ofString());
        if (response.statusCode() / 100 != 2) {
            throw new IOException("GET " + uri + " answered " + response.statusCode() + ": " + response.body());
        }
        return JSON.readTree(response.body());
    }

    // ------------------------------------------------------------------ generating a release

    /**
     * A new release's savepoint being generated ({@link #startGeneration}): the release named by
     * {@code -Dsavepoint.generate}, the directory it goes to in {@code module}, its topic prefix (its pipeline topics,
     * with {@code partitions} partitions, exist on the broker at {@code bootstrap}).
     */
    public record Generation(String release, Path target, String module, String topicPrefix, String bootstrap,
                             int partitions) {
        /**
         * The release's metadata ({@link #baseMetadata}, with the end offsets the input topics have now) and
         * {@code job.args}: the job's arguments, to be given with the broker left out.
         */
        public Properties metadata(String job, int dataVersion, String fingerprint, List<String> inputTopics,
                                   String[] jobArgs) throws Exception {
            Properties meta = baseMetadata(release, job, topicPrefix, partitions, dataVersion, fingerprint,
                    endOffsets(bootstrap, inputTopics));
            meta.setProperty("job.args", String.join(" ", jobArgs));
            return meta;
        }

        /**
         * Writes the release's directory: a copy of {@code savepointUri}, the metadata and a README (what took the
         * savepoint, {@code data}: a paragraph on the data it holds, and how {@code test} restores it and makes the
         * next release's); says where it went.
         */
        public void store(String savepointUri, Properties metadata, Class<?> test, String data) throws IOException {
            ReleasedSavepoints.store(target, savepointUri, metadata, readme(metadata, test, data));
            System.out.printf("savepoint of release %s written to %s (%,d bytes)%n", release, target,
                    sizeBytes(target.resolve(SAVEPOINT)));
        }

        private String readme(Properties meta, Class<?> test, String data) {
            return "# " + meta.getProperty("job") + " savepoint of release " + release + "\n\n"
                    + "Taken with stop-with-savepoint (canonical format, RocksDB) by commit `" + meta.getProperty("commit")
                    + "` on Flink " + meta.getProperty("flink.version") + ", " + meta.getProperty("created") + ".\n\n"
                    + data + "\n\n"
                    + "`" + test.getSimpleName() + "` restores it into the current code. Released savepoints are never"
                    + " regenerated; a new release adds its own directory:\n\n"
                    + "    mvn -pl " + module + " test -Dtest=" + test.getSimpleName() + " -D" + GENERATE_PROPERTY
                    + "=<release>\n";
        }
    }

    /**
     * Starts generating the release of {@code -Dsavepoint.generate}: checks where it goes ({@link #generationTarget})
     * and creates its pipeline topics ({@link #topicPrefix}) with {@code partitions} partitions.
     */
    public static Generation startGeneration(PipelineTestCluster cluster, int partitions) {
        String release = System.getProperty(GENERATE_PROPERTY);
        Path target = generationTarget(release);
        String module = Path.of("").toAbsolutePath().getFileName().toString();
        String prefix = topicPrefix(release);
        TopicAdmin.createPipelineTopics(cluster.bootstrapServers(), prefix, partitions);
        return new Generation(release, target, module, prefix, cluster.bootstrapServers(), partitions);
    }

    /** Stops the job with a savepoint (canonical format) in the cluster's savepoint directory; returns its URI. */
    public static String stopWithSavepoint(PipelineTestCluster cluster, JobClient job) throws Exception {
        return job.stopWithSavepoint(false, cluster.savepointDir().toUri().toString(), SavepointFormatType.CANONICAL)
                .get(5, TimeUnit.MINUTES);
    }

    /** Topic names of a release's data: unique per release, so several releases restore side by side on one broker. */
    public static String topicPrefix(String release) {
        return "compat-" + release.replaceAll("[^A-Za-z0-9]", "_") + "-";
    }

    /**
     * Where a new release's savepoint goes: {@code src/test/resources/savepoints/<release>} of the module the tests run
     * in (Surefire's working directory). Refuses to overwrite a release: a released savepoint is never regenerated.
     */
    public static Path generationTarget(String release) {
        if (!release.matches("[A-Za-z0-9][A-Za-z0-9._-]*")) {
            throw new IllegalArgumentException("not a release name: '" + release + "'");
        }
        Path module = Path.of("").toAbsolutePath();
        if (!Files.isRegularFile(module.resolve("pom.xml")) || !Files.isDirectory(module.resolve("src/test"))) {
            throw new IllegalStateException("run the generator from the module directory (mvn -pl <module> test ...), not " + module);
        }
        Path target = module.resolve("src/test/resources").resolve(ROOT).resolve(release);
        if (Files.exists(target)) {
            throw new IllegalStateException(target + " exists: a release's savepoint is never regenerated (delete it by hand if it was never committed)");
        }
        return target;
    }

    /** Copies the savepoint directory {@code savepointUri} into {@code target/savepoint} and writes the metadata and README. */
    public static void store(Path target, String savepointUri, Properties metadata, String readme) throws IOException {
        Path source = toPath(savepointUri);
        Path copy = target.resolve(SAVEPOINT);
        Files.createDirectories(copy);
        try (Stream<Path> files = Files.walk(source)) {
            for (Path f : files.sorted().toList()) {
                Path to = copy.resolve(source.relativize(f).toString());
                if (Files.isDirectory(f)) {
                    Files.createDirectories(to);
                } else {
                    Files.copy(f, to);
                }
            }
        }
        try (OutputStream out = Files.newOutputStream(target.resolve(METADATA))) {
            metadata.store(out, "written by the savepoint generator; read by the state compatibility test");
        }
        Files.writeString(target.resolve("README.md"), readme, StandardCharsets.UTF_8);
    }

    /** Metadata every release records, plus the input topics' end offsets under {@code offsets.<topic>}. */
    public static Properties baseMetadata(String release, String job, String topicPrefix, int partitions, int dataVersion,
                                          String fingerprint, Map<String, String> endOffsets) {
        Properties p = new Properties();
        p.setProperty("release", release);
        p.setProperty("job", job);
        p.setProperty("commit", gitCommit());
        p.setProperty("created", Instant.now().toString());
        p.setProperty("flink.version", org.apache.flink.runtime.util.EnvironmentInformation.getVersion());
        p.setProperty("topic.prefix", topicPrefix);
        p.setProperty("partitions", String.valueOf(partitions));
        p.setProperty("data.version", String.valueOf(dataVersion));
        p.setProperty("data.fingerprint", fingerprint);
        endOffsets.forEach((topic, offsets) -> p.setProperty("offsets." + topic, offsets));
        return p;
    }

    /** The commit the generator runs on ({@code git rev-parse HEAD}, "+dirty" with uncommitted changes), or "unknown". */
    public static String gitCommit() {
        try {
            String head = run("git", "rev-parse", "HEAD");
            String status = run("git", "status", "--porcelain", "--untracked-files=no");
            return head.isEmpty() ? "unknown" : head + (status.isEmpty() ? "" : "+dirty");
        } catch (Exception e) {
            return "unknown";
        }
    }

    private static String run(String... command) throws Exception {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        return p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0 ? out : "";
    }

    // ------------------------------------------------------------------ helpers

    /**
     * The fingerprint a release records of its data: the SHA-256 (hex) of the data set's own description of the
     * records before the savepoint, written from the generator's values (not from Avro's encoding, which may gain
     * fields).
     */
    public static String fingerprint(CharSequence records) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
                    .digest(records.toString().getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The end offset of every partition of each topic, as {@code "partition:offset,..."} per topic name. */
    public static Map<String, String> endOffsets(String bootstrap, List<String> topics) throws Exception {
        Map<String, String> out = new TreeMap<>();
        try (Admin admin = TopicAdmin.admin(bootstrap)) {
            var described = admin.describeTopics(topics).allTopicNames().get(1, TimeUnit.MINUTES);
            Map<TopicPartition, OffsetSpec> latest = new HashMap<>();
            described.forEach((topic, d) -> d.partitions().forEach(p -> latest.put(new TopicPartition(topic, p.partition()), OffsetSpec.latest())));
            var ends = admin.listOffsets(latest).all().get(1, TimeUnit.MINUTES);
            for (String topic : topics) {
                List<String> parts = new ArrayList<>();
                ends.entrySet().stream().filter(e -> e.getKey().topic().equals(topic))
                        .sorted(Comparator.comparingInt(e -> e.getKey().partition()))
                        .forEach(e -> parts.add(e.getKey().partition() + ":" + e.getValue().offset()));
                out.put(topic, String.join(",", parts));
            }
        }
        return out;
    }

    public static long sizeBytes(Path dir) throws IOException {
        try (Stream<Path> files = Files.walk(dir)) {
            return files.filter(Files::isRegularFile).mapToLong(f -> f.toFile().length()).sum();
        }
    }

    public static Path toPath(String uri) {
        try {
            return Path.of(new URI(uri));
        } catch (URISyntaxException e) {
            throw new IllegalArgumentException(uri, e);
        }
    }

    /** Release names compare by their numeric parts ("0.10.0" after "0.9.1"), then as text. */
    public static int compareVersions(String a, String b) {
        String[] x = a.split("[^0-9]+");
        String[] y = b.split("[^0-9]+");
        for (int i = 0; i < Math.min(x.length, y.length); i++) {
            if (!x[i].isEmpty() && !y[i].isEmpty()) {
                int c = Long.compare(Long.parseLong(x[i]), Long.parseLong(y[i]));
                if (c != 0) {
                    return c;
                }
            }
        }
        return a.compareTo(b);
    }

    /** {@code savepoints/} of the test class path: the module's {@code target/test-classes} comes first on it. */
    private static Path classPathRoot() {
        URL url = ReleasedSavepoints.class.getClassLoader().getResource(ROOT);
        if (url == null) {
            return null;
        }
        try {
            return Path.of(url.toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(url.toString(), e);
        }
    }
}
