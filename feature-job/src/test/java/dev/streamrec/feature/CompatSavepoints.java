package dev.streamrec.feature;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import org.apache.flink.api.common.JobID;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.common.TopicPartition;

import com.fasterxml.jackson.databind.JsonNode;

import dev.streamrec.client.FlinkRestClient;
import dev.streamrec.testkit.TopicAdmin;

/**
 * The released savepoints a module's state-compatibility test restores: {@code src/test/resources/savepoints/<release>/}
 * holds {@code savepoint/} (the Flink savepoint directory, relocatable: its {@code _metadata} refers to its files by
 * relative path), {@code savepoint.properties} (what the restore test needs: topic prefix, partitions, data version and
 * fingerprint, the input topics' end offsets) and a README saying which commit made it and how. With
 * {@code -Dsavepoint.generate=<release>} the test writes a new release's directory instead of restoring.
 * (The same helper exists in index-job's test sources: the modules share no test code.)
 */
final class CompatSavepoints {
    static final String GENERATE_PROPERTY = "savepoint.generate";
    static final String METADATA = "savepoint.properties";
    static final String SAVEPOINT = "savepoint";
    private static final String ROOT = "savepoints";

    private CompatSavepoints() {}

    /** Every release with a savepoint on the test class path, oldest first. */
    static List<String> releases() {
        Path root = classPathRoot();
        if (root == null) {
            return List.of();
        }
        try (Stream<Path> dirs = Files.list(root)) {
            return dirs.filter(d -> Files.isRegularFile(d.resolve(METADATA)))
                    .map(d -> d.getFileName().toString())
                    .sorted(CompatSavepoints::compareVersions)
                    .toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The release's directory on the test class path ({@code target/test-classes/savepoints/<release>}). */
    static Path releaseDir(String release) {
        Path root = classPathRoot();
        if (root == null || !Files.isDirectory(root.resolve(release))) {
            throw new IllegalStateException("no savepoint of release " + release + " on the test class path");
        }
        return root.resolve(release);
    }

    static Properties metadata(String release) {
        Properties p = new Properties();
        try (InputStream in = Files.newInputStream(releaseDir(release).resolve(METADATA))) {
            p.load(in);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return p;
    }

    /** The URI to restore from: the copy on the test class path (not where it was taken: savepoints are relocatable). */
    static String savepointUri(String release) {
        Path dir = releaseDir(release).resolve(SAVEPOINT);
        if (!Files.isRegularFile(dir.resolve("_metadata"))) {
            throw new IllegalStateException("no _metadata in " + dir);
        }
        return dir.toUri().toString();
    }

    /** Topic names of a release's data: unique per release, so several releases restore side by side on one broker. */
    static String topicPrefix(String release) {
        return "compat-" + release.replaceAll("[^A-Za-z0-9]", "_") + "-";
    }

    /**
     * Where a new release's savepoint goes: {@code src/test/resources/savepoints/<release>} of the module the tests run
     * in (Surefire's working directory). Refuses to overwrite a release: a released savepoint is never regenerated.
     */
    static Path generationTarget(String release) {
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
    static void store(Path target, String savepointUri, Properties metadata, String readme) throws IOException {
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

    /**
     * Asserts that the job was started from the savepoint at {@code savepointUri}, as the job's checkpoint statistics
     * say (REST {@code /jobs/<id>/checkpoints}, {@code latest.restored}): a job that silently started empty and re-read
     * the topics would otherwise end with the same results.
     */
    static void assertRestoredFrom(int restPort, JobID job, String savepointUri) throws Exception {
        FlinkRestClient rest = new FlinkRestClient("127.0.0.1", restPort);
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(1);
        JsonNode restored = null;
        while (System.nanoTime() < deadline) {
            restored = rest.get("/jobs/" + job + "/checkpoints").path("latest").path("restored");
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

    /**
     * The job's arguments with {@code --source.starting-offsets latest}: starting offsets apply only to a job without
     * restored source state, so a restored job reads on from the savepoint's offsets, while one that lost them would
     * skip everything before the savepoint (and fail the checks) instead of silently re-reading it.
     */
    static String[] startingFromLatest(String[] args) {
        String[] out = args.clone();
        for (int i = 0; i < out.length - 1; i++) {
            if (out[i].equals("--source.starting-offsets")) {
                out[i + 1] = "latest";
                return out;
            }
        }
        throw new IllegalArgumentException("no --source.starting-offsets in the job's arguments");
    }

    static long sizeBytes(Path dir) throws IOException {
        try (Stream<Path> files = Files.walk(dir)) {
            return files.filter(Files::isRegularFile).mapToLong(f -> f.toFile().length()).sum();
        }
    }

    static Path toPath(String uri) {
        try {
            return Path.of(new URI(uri));
        } catch (URISyntaxException e) {
            throw new IllegalArgumentException(uri, e);
        }
    }

    /** The end offset of every partition of each topic, as {@code "partition:offset,..."} per topic name. */
    static Map<String, String> endOffsets(String bootstrap, List<String> topics) throws Exception {
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

    /** Metadata every release records, plus the input topics' end offsets under {@code offsets.<topic>}. */
    static Properties baseMetadata(String release, String job, String topicPrefix, int partitions, int dataVersion,
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

    /** The recorded end offsets ({@code offsets.<topic>} entries) of a release's metadata. */
    static Map<String, String> recordedOffsets(Properties metadata) {
        Map<String, String> out = new TreeMap<>();
        metadata.stringPropertyNames().stream().filter(k -> k.startsWith("offsets."))
                .forEach(k -> out.put(k.substring("offsets.".length()), metadata.getProperty(k)));
        return out;
    }

    /** The commit the generator runs on ({@code git rev-parse HEAD}, "+dirty" with uncommitted changes), or "unknown". */
    static String gitCommit() {
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

    private static Path classPathRoot() {
        URL url = CompatSavepoints.class.getClassLoader().getResource(ROOT);
        if (url == null) {
            return null;
        }
        try {
            return Path.of(url.toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(url.toString(), e);
        }
    }

    /** Release names compare by their numeric parts ("0.10.0" after "0.9.1"), then as text. */
    static int compareVersions(String a, String b) {
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
}
