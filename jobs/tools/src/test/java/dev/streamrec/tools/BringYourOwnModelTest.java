package dev.streamrec.tools;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.UUID;

import org.apache.flink.core.execution.JobClient;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import dev.streamrec.avro.ActionType;
import dev.streamrec.avro.Candidate;
import dev.streamrec.avro.DeadLetter;
import dev.streamrec.avro.RecallResult;
import dev.streamrec.avro.UserAction;
import dev.streamrec.avro.UserFeatures;
import dev.streamrec.avro.UserVector;
import dev.streamrec.client.Lookup;
import dev.streamrec.client.QueryTarget;
import dev.streamrec.client.RecallClient;
import dev.streamrec.feature.FeatureJob;
import dev.streamrec.index.AvroVectors;
import dev.streamrec.index.IndexJob;
import dev.streamrec.index.ann.BruteForceIndex;
import dev.streamrec.index.ann.ClusteredVectors;
import dev.streamrec.index.ann.Neighbor;
import dev.streamrec.jobs.JobSetup;
import dev.streamrec.schemas.Topic;
import dev.streamrec.testkit.KafkaTestIO;
import dev.streamrec.testkit.PipelineTestCluster;

/**
 * The README's "bring your own model" walk-through as a test, on a real broker and a MiniCluster running feature-job
 * and index-job with their default dimension (64): a 10-dimensional model published from a file with
 * {@code bin/publish-embeddings}' command, actions for users, and recall read through the client equal to an exact
 * cosine search over the live items (recall.k 10 of 5,000 items: the search is not exhaustive); then deletes, gone
 * from every served recall without a user acting; then a second version of another dimension (6) loaded while the
 * first serves and switched to: every user with a vector of it follows without a new action.
 */
class BringYourOwnModelTest {
    @RegisterExtension
    static final PipelineTestCluster CLUSTER = new PipelineTestCluster();

    private static final int ITEMS = 5000;
    private static final int USERS = 60;
    private static final Duration GENEROUS = Duration.ofMinutes(3);

    private final Random random = new Random(11);
    private final Set<String> deleted = new HashSet<>();

    @Test
    void aModelOfAnyDimensionFromAFileToServedRecallThenDeletesThenASwitch() throws Exception {
        CLUSTER.createPipelineTopics(2);
        String prefix = CLUSTER.topicPrefix();
        String bootstrap = CLUSTER.bootstrapServers();
        JobClient features = JobSetup.submit(new FeatureJob(), CLUSTER.environment(), new FeatureJob().parseConfig(
                "--bootstrap.servers", bootstrap, "--topic.prefix", prefix, "--parallelism", "1",
                "--checkpoint.interval.ms", "500", "--source.starting-offsets", "earliest"));
        JobClient index = JobSetup.submit(new IndexJob(), CLUSTER.environment(), new IndexJob().parseConfig(
                "--bootstrap.servers", bootstrap, "--topic.prefix", prefix, "--parallelism", "2",
                "--checkpoint.interval.ms", "500", "--index.shards", "4", "--recall.k", "10", "--recall.i2i-triggers", "0",
                "--recall.debounce.ms", "200", "--source.starting-offsets", "earliest"));
        CLUSTER.awaitJobRunning(features.getJobID(), Duration.ofMinutes(1));
        CLUSTER.awaitJobRunning(index.getJobID(), Duration.ofMinutes(1));
        List<String> common = List.of("--bootstrap", bootstrap, "--topic.prefix", prefix,
                "--rest", "http://127.0.0.1:" + CLUSTER.restPort(), "--wait-timeout", "600");
        Path dir = CLUSTER.tempDir();

        // 1. A 10-d model from a file, published with the command: LOADING, items, the index's count, SERVING.
        ClusteredVectors m10 = new ClusteredVectors(3, 10, 40, 0.2);
        Path m10File = writeCsv(dir.resolve("item2vec-10.csv"), m10);
        ToolsIntegrationTest.Run published = ToolsIntegrationTest.run(new PublishEmbeddings(),
                ToolsIntegrationTest.args(common, "--file", m10File.toString(), "--version", "m10"));
        assertThat(published.status()).as(published.err()).isZero();

        // 2. Users act on items of a few clusters; their features (and so their m10 vector) come from feature-job.
        try (KafkaTestIO kafka = new KafkaTestIO(bootstrap);
             RecallClient client = RecallClient.builder().rest("http://127.0.0.1:" + CLUSTER.restPort())
                     .proxy("127.0.0.1", CLUSTER.queryableStateProxyPort()).timeout(GENEROUS).build()) {
            produceActions(kafka, prefix, 0);
            Map<String, RecallResult> recall = awaitRecall(client, "m10", r -> r.getCandidates().size() == 10);
            assertThat(meanRecallAt10(client, recall, "m10", exact(m10, 10))).as("recall@10 against exact cosine over m10")
                    .isGreaterThanOrEqualTo(0.99);

            // 3. Deletes (sold out): the items most held in served recall leave every user's recall, nobody acting.
            Map<String, Integer> held = new HashMap<>();
            recall.values().forEach(r -> r.getCandidates().forEach(c -> held.merge(c.getItemId(), 1, Integer::sum)));
            List<String> mostHeld = held.entrySet().stream().sorted((a, b) -> b.getValue() - a.getValue())
                    .limit(30).map(Map.Entry::getKey).toList();
            Path ids = Files.write(dir.resolve("sold-out.txt"), mostHeld);
            ToolsIntegrationTest.Run deletes = ToolsIntegrationTest.run(new PublishEmbeddings(),
                    ToolsIntegrationTest.args(common, "--delete", "--file", ids.toString(), "--version", "m10"));
            assertThat(deletes.status()).as(deletes.err()).isZero();
            deleted.addAll(mostHeld);
            Map<String, RecallResult> afterDeletes = awaitRecall(client, "m10",
                    r -> r.getCandidates().stream().noneMatch(c -> deleted.contains(c.getItemId())));
            assertThat(afterDeletes).hasSize(USERS);

            // 4. A second model, 6-d, loads while m10 serves; users act meanwhile, so they get a vector of it too.
            ClusteredVectors m6 = new ClusteredVectors(5, 6, 40, 0.2);
            Path m6File = writeCsv(dir.resolve("item2vec-6.csv"), m6);
            ToolsIntegrationTest.Run loaded = ToolsIntegrationTest.run(new PublishEmbeddings(),
                    ToolsIntegrationTest.args(common, "--file", m6File.toString(), "--version", "m6", "--no-serve"));
            assertThat(loaded.status()).as(loaded.err()).isZero();
            produceActions(kafka, prefix, 1);
            awaitFeatures(client, "m6");
            // Serving m6 (publishing the same file again ends with SERVING): every user follows with no new action.
            ToolsIntegrationTest.Run served = ToolsIntegrationTest.run(new PublishEmbeddings(),
                    ToolsIntegrationTest.args(common, "--file", m6File.toString(), "--version", "m6"));
            assertThat(served.status()).as(served.err()).isZero();
            Map<String, RecallResult> switched = awaitRecall(client, "m6", r -> r.getCandidates().size() == 10);
            assertThat(meanRecallAt10(client, switched, "m6", exact(m6, 6))).as("recall@10 against exact cosine over m6")
                    .isGreaterThanOrEqualTo(0.99);

            assertThat(KafkaTestIO.readToEnd(bootstrap, Topic.DEAD_LETTERS.name(prefix), DeadLetter.class, GENEROUS))
                    .as("no valid item or vector of either model is a dead letter").isEmpty();
        }
        index.cancel().get();
        features.cancel().get();
    }

    private static Path writeCsv(Path file, ClusteredVectors vectors) throws Exception {
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < ITEMS; i++) {
            StringBuilder line = new StringBuilder(ClusteredVectors.itemId(i));
            for (float v : vectors.vector(i)) {
                line.append(',').append(String.format(Locale.ROOT, "%.6f", v));
            }
            lines.add(line.toString());
        }
        return Files.write(file, lines);
    }

    /** Exact cosine search over the live items of a model, as written to its file. */
    private BruteForceIndex exact(ClusteredVectors vectors, int dimension) {
        BruteForceIndex exact = new BruteForceIndex(dimension, ITEMS);
        for (int i = 0; i < ITEMS; i++) {
            String id = ClusteredVectors.itemId(i);
            if (!deleted.contains(id)) {
                float[] v = vectors.vector(i);
                float[] rounded = new float[v.length];
                for (int d = 0; d < v.length; d++) {
                    rounded[d] = Float.parseFloat(String.format(Locale.ROOT, "%.6f", v[d]));
                }
                exact.upsert(id, rounded, 1);
            }
        }
        return exact;
    }

    /** Five clicks per user and round, on items near one cluster per user. */
    private void produceActions(KafkaTestIO kafka, String prefix, int round) {
        long now = System.currentTimeMillis();
        for (int u = 0; u < USERS; u++) {
            int base = (u * 37 + round * 11) % ITEMS;
            for (int a = 0; a < 5; a++) {
                String item = ClusteredVectors.itemId((base + a * 40 + random.nextInt(3)) % ITEMS);
                UserAction action = new UserAction(UUID.randomUUID().toString(), "user-" + u, item, ActionType.CLICK, 1.0,
                        now + a, null);
                kafka.produce(Topic.USER_ACTIONS.name(prefix), action.getUserId(), action, now);
            }
        }
    }

    /** Every user's served recall once it is of {@code version} and {@code ready} holds (generous deadline). */
    private static Map<String, RecallResult> awaitRecall(RecallClient client, String version,
                                                         java.util.function.Predicate<RecallResult> ready) {
        Map<String, RecallResult> recall = new HashMap<>();
        for (int u = 0; u < USERS; u++) {
            Lookup<RecallResult> l = client.lookupUntil(client.recallTarget(), "user-" + u, GENEROUS,
                    r -> r.getModelVersion().equals(version) && ready.test(r));
            assertThat(l.found()).as("recall of user-%d on %s: %s", u, version, l.describe()).isTrue();
            recall.put("user-" + u, l.value());
        }
        return recall;
    }

    private static void awaitFeatures(RecallClient client, String version) {
        for (int u = 0; u < USERS; u++) {
            Lookup<UserFeatures> l = client.lookupUntil(QueryTarget.userFeatures(), "user-" + u, GENEROUS,
                    f -> f.getVectors().stream().anyMatch(v -> v.getModelVersion().equals(version)));
            assertThat(l.found()).as("a %s vector of user-%d: %s", version, u, l.describe()).isTrue();
        }
    }

    /**
     * Mean recall@10 of the served candidates against exact search with the user's vector of {@code version}: each
     * user's recall as computed from their latest features (an earlier one may come from a partial batch of actions).
     */
    private static double meanRecallAt10(RecallClient client, Map<String, RecallResult> recall, String version,
                                         BruteForceIndex exact) {
        double sum = 0;
        for (String user : recall.keySet()) {
            UserFeatures f = client.lookupUntil(QueryTarget.userFeatures(), user, GENEROUS, x -> true).value();
            Lookup<RecallResult> r = client.lookupUntil(client.recallTarget(), user, GENEROUS,
                    x -> x.getModelVersion().equals(version) && x.getSourceEventTime() == f.getLastEventTime());
            assertThat(r.found()).as("recall of %s from its latest features: %s", user, r.describe()).isTrue();
            UserVector v = f.getVectors().stream().filter(x -> x.getModelVersion().equals(version)).findFirst().orElseThrow();
            Set<String> truth = new HashSet<>(exact.search(AvroVectors.fromList(v.getVector()), 10, id -> false).stream().map(Neighbor::itemId).toList());
            truth.retainAll(r.value().getCandidates().stream().map(Candidate::getItemId).toList());
            sum += truth.size() / 10.0;
        }
        return sum / recall.size();
    }
}
