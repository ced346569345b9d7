package dev.streamrec.index;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.apache.flink.core.execution.JobClient;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import dev.streamrec.avro.Candidate;
import dev.streamrec.avro.DeadLetter;
import dev.streamrec.avro.ItemEmbedding;
import dev.streamrec.avro.RecallRefill;
import dev.streamrec.avro.RecallResult;
import dev.streamrec.avro.SeenExclusion;
import dev.streamrec.avro.Trigger;
import dev.streamrec.avro.UserFeatures;
import dev.streamrec.client.QueryableStateReader;
import dev.streamrec.feature.FeatureJob;
import dev.streamrec.index.ann.BruteForceIndex;
import dev.streamrec.index.ann.VectorMath;
import dev.streamrec.jobs.JobSetup;
import dev.streamrec.jobs.config.JobConfig;
import dev.streamrec.schemas.QueryableStates;
import dev.streamrec.schemas.Topic;
import dev.streamrec.testkit.KafkaTestIO;
import dev.streamrec.testkit.PipelineTestCluster;
import dev.streamrec.testkit.TopicAdmin;

/**
 * index-job end to end with feature-job in front, on a real Kafka broker and a Flink MiniCluster with RocksDB:
 * items (some deleted) and actions go in through Kafka; each user's recall is read from the recall topic
 * (read_committed) and through queryable state; both agree, reflect the user's last action, and match an exact
 * search over the live items. A refill from dedup-job recomputes a user's recall without the items it names.
 */
class IndexJobIntegrationTest {
    @RegisterExtension
    static final PipelineTestCluster CLUSTER = new PipelineTestCluster();

    static JobConfig featureConfig(PipelineTestCluster cluster) {
        return new FeatureJob().parseConfig("--bootstrap.servers", cluster.bootstrapServers(), "--topic.prefix", cluster.topicPrefix(),
                "--parallelism", "1", "--checkpoint.interval.ms", "500",
                "--features.vector-dimension", String.valueOf(IndexScenario.DIMENSION), "--source.starting-offsets", "earliest");
    }

    static JobConfig indexConfig(PipelineTestCluster cluster, String... extra) {
        List<String> args = new java.util.ArrayList<>(List.of("--bootstrap.servers", cluster.bootstrapServers(),
                "--topic.prefix", cluster.topicPrefix(), "--parallelism", "2", "--checkpoint.interval.ms", "500",
                "--index.vector-dimension", String.valueOf(IndexScenario.DIMENSION), "--index.shards", "4",
                "--recall.debounce.ms", "300", "--recall.k", "50", "--source.starting-offsets", "earliest"));
        args.addAll(List.of(extra));
        return new IndexJob().parseConfig(args.toArray(String[]::new));
    }

    @Test
    void recallOnTheTopicAndThroughQueryableStateAgreeAndMatchExactSearch() throws Exception {
        CLUSTER.createPipelineTopics(2);
        String prefix = CLUSTER.topicPrefix();
        IndexScenario scenario = new IndexScenario(3000, 21);
        try (KafkaTestIO kafka = new KafkaTestIO(CLUSTER.bootstrapServers())) {
            JobClient features = JobSetup.submit(new FeatureJob(), CLUSTER.environment(), featureConfig(CLUSTER));
            JobClient index = JobSetup.submit(new IndexJob(), CLUSTER.environment(), indexConfig(CLUSTER));
            CLUSTER.awaitJobRunning(features.getJobID(), Duration.ofMinutes(1));
            CLUSTER.awaitJobRunning(index.getJobID(), Duration.ofMinutes(1));

            IndexScenario.produceItems(kafka, prefix, scenario.items("v1"));
            IndexScenario.produceItems(kafka, prefix, scenario.deletes("v1"));
            // Bad input: a vector of the wrong dimension.
            ItemEmbedding wrong = IndexFixtures.item("bad-item", "v1", new float[IndexScenario.DIMENSION + 1], scenario.base);
            wrong.getVector().set(0, 1f);
            kafka.produce(Topic.ITEM_EMBEDDINGS.name(prefix), "bad-item", wrong, System.currentTimeMillis());
            IndexScenario.awaitItemsIngested(kafka, prefix);

            IndexScenario.produceActions(kafka, prefix, scenario.actions(30, 8, 0));
            Map<String, RecallResult> fromTopic = scenario.readFinalRecall(kafka, prefix, Duration.ofMinutes(3));

            BruteForceIndex exact = scenario.exact("v1");
            double recallSum = 0;
            try (QueryableStateReader reader = new QueryableStateReader(CLUSTER.queryableStateClient())) {
                for (Map.Entry<String, RecallResult> e : fromTopic.entrySet()) {
                    String user = e.getKey();
                    RecallResult queried = reader.lookup(index.getJobID(), user, QueryableStates.recall(QueryableStates.RECALL),
                            Duration.ofSeconds(30), r -> r.getComputedAt() >= e.getValue().getComputedAt());
                    assertThat(queried).as("queryable recall of %s", user).isEqualTo(e.getValue());

                    UserFeatures f = reader.lookup(features.getJobID(), user, QueryableStates.userFeatures(),
                            Duration.ofSeconds(30), x -> x.getLastEventTime() == queried.getSourceEventTime());
                    float[] userVector = AvroVectors.fromList(f.getVectors().get(0).getVector());
                    assertThat(queried.getModelVersion()).isEqualTo("v1");
                    assertThat(queried.getCandidates()).hasSize(50);
                    assertThat(queried.getCandidates()).extracting(Candidate::getItemId)
                            .doesNotHaveDuplicates()
                            .noneMatch(scenario.deleted::contains);
                    Set<String> triggers = new HashSet<>();
                    for (Trigger t : f.getTriggers()) {
                        triggers.add(t.getItemId());
                    }
                    assertThat(IndexScenario.channel(queried, RecallMerge.I2I)).isNotEmpty().noneMatch(triggers::contains);
                    // u2i scores are the cosine similarity to the user's vector
                    for (Candidate c : queried.getCandidates()) {
                        if (c.getChannel().equals(RecallMerge.U2I)) {
                            assertThat(c.getScore()).isCloseTo(cosine(userVector, scenario, c.getItemId()), org.assertj.core.data.Offset.offset(1e-4));
                        }
                    }
                    recallSum += IndexScenario.recallAt10(queried, userVector, exact);
                }
            }
            assertThat(recallSum / fromTopic.size()).as("mean recall@10 against exact search").isGreaterThanOrEqualTo(0.95);

            List<KafkaTestIO.Received<DeadLetter>> dead = KafkaTestIO.consumeUntil(kafka.bootstrapServers(),
                    Topic.DEAD_LETTERS.name(prefix), DeadLetter.class, Duration.ofMinutes(1),
                    read -> read.stream().anyMatch(r -> r.decoded().getJob().equals(IndexJob.NAME)));
            assertThat(dead).filteredOn(r -> r.decoded().getJob().equals(IndexJob.NAME))
                    .singleElement().satisfies(r -> {
                        assertThat(r.key()).isEqualTo("bad-item");
                        assertThat(r.decoded().getReason()).startsWith("bad-vector");
                    });
            index.cancel().get();
            features.cancel().get();
        }
    }

    /**
     * dedup-job's refill on the real broker: once a user's recall is on the recall topic, a {@code RecallRefill}
     * excluding 180 of its 200 candidates goes to recall-refills, and the user's recall is recomputed: 200 candidates
     * (read_committed), none of them excluded. On topics of its own (another prefix) on this class's cluster, and
     * without feature-job: the user's features are produced to user-features directly.
     */
    @Test
    void aRefillRecomputesTheRecallWithoutTheSeenItems() throws Exception {
        String prefix = CLUSTER.topicPrefix() + "refill-";
        TopicAdmin.createPipelineTopics(CLUSTER.bootstrapServers(), prefix, 2);
        int k = 200;
        IndexScenario scenario = new IndexScenario(1000, 23);
        try (KafkaTestIO kafka = new KafkaTestIO(CLUSTER.bootstrapServers())) {
            JobClient index = JobSetup.submit(new IndexJob(), CLUSTER.environment(),
                    indexConfig(CLUSTER, "--topic.prefix", prefix, "--recall.k", String.valueOf(k)));
            CLUSTER.awaitJobRunning(index.getJobID(), Duration.ofMinutes(1));
            IndexScenario.produceItems(kafka, prefix, scenario.items("v1"));
            IndexScenario.produceItems(kafka, prefix, scenario.deletes("v1"));
            IndexScenario.awaitIngested(kafka, prefix, IndexJob.NAME, Topic.ITEM_EMBEDDINGS);

            String user = "refilled-user";
            long eventTime = scenario.base + 10_000;
            UserFeatures features = IndexFixtures.features(user, Map.of("v1", scenario.versions.get("v1").query(3)),
                    List.of(IndexFixtures.trigger(IndexScenario.itemId(1), 1, eventTime),
                            IndexFixtures.trigger(IndexScenario.itemId(2), 1, eventTime - 1)), eventTime);
            kafka.produce(Topic.USER_FEATURES.name(prefix), user, features, System.currentTimeMillis());
            RecallResult first = awaitRecall(kafka, prefix, user, r -> r.getCandidates().size() == k,
                    "a recall of " + k + " candidates for the user's features");

            List<String> excluded = new ArrayList<>();
            for (int i = 0; i < k; i++) {
                if (i % 10 != 0) {
                    excluded.add(first.getCandidates().get(i).getItemId());
                }
            }
            RecallRefill refill = new RecallRefill(user,
                    excluded.stream().map(id -> new SeenExclusion(id, eventTime + 3_600_000)).toList(),
                    k - excluded.size(), 100, System.currentTimeMillis(), first.getSourceEventTime());
            kafka.produce(Topic.RECALL_REFILLS.name(prefix), user, refill, System.currentTimeMillis());

            // The user's recall computed from the refill (a later one would be the same: the exclusions hold for an hour).
            RecallResult refilled = awaitRecall(kafka, prefix, user, r -> r.getComputedAt() > first.getComputedAt()
                            && r.getCandidates().stream().noneMatch(c -> excluded.contains(c.getItemId())),
                    "a recall after the refill without its 180 seen items");
            assertThat(refilled.getCandidates()).as("candidates after the refill").hasSizeGreaterThanOrEqualTo(100).hasSize(k)
                    .extracting(Candidate::getItemId).doesNotHaveDuplicates().noneMatch(scenario.deleted::contains);
            assertThat(refilled.getSourceEventTime()).isEqualTo(eventTime);
            index.cancel().get();
        }
    }

    /** Reads the recall topic (read_committed) until a record of {@code user} satisfies {@code wanted}; returns it. */
    private static RecallResult awaitRecall(KafkaTestIO kafka, String prefix, String user,
                                            java.util.function.Predicate<RecallResult> wanted, String what) {
        Duration timeout = Duration.ofMinutes(3);
        java.util.function.Predicate<RecallResult> match = r -> r.getUserId().equals(user) && wanted.test(r);
        List<KafkaTestIO.Received<RecallResult>> read = KafkaTestIO.consumeUntil(kafka.bootstrapServers(),
                Topic.RECALL.name(prefix), RecallResult.class, timeout,
                records -> records.stream().anyMatch(r -> match.test(r.decoded())));
        return read.stream().map(KafkaTestIO.Received::decoded).filter(match).findFirst()
                .orElseThrow(() -> new AssertionError("no " + what + " on the recall topic within " + timeout
                        + "; records of " + user + ": " + read.stream().filter(r -> r.key().equals(user)).count()));
    }

    private static double cosine(float[] user, IndexScenario scenario, String itemId) {
        float[] item = VectorMath.normalized(scenario.versions.get("v1").vector(Integer.parseInt(itemId.replaceAll("\\D", ""))));
        float[] u = VectorMath.normalized(user);
        double dot = 0;
        for (int i = 0; i < u.length; i++) {
            dot += u[i] * item[i];
        }
        return dot;
    }
}
