package dev.streamrec.feature;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;

import org.apache.flink.core.execution.JobClient;
import org.junit.jupiter.api.extension.RegisterExtension;

import dev.streamrec.avro.ItemEmbedding;
import dev.streamrec.avro.UserAction;
import dev.streamrec.avro.UserFeatures;
import dev.streamrec.client.QueryableStateReader;
import dev.streamrec.jobs.JobSetup;
import dev.streamrec.jobs.config.JobConfig;
import dev.streamrec.schemas.QueryableStates;
import dev.streamrec.schemas.Topic;
import dev.streamrec.testkit.JobInput;
import dev.streamrec.testkit.KafkaTestIO;
import dev.streamrec.testkit.PipelineTestCluster;
import dev.streamrec.testkit.ReleasedSavepoints;

/**
 * State compatibility: every released feature-job savepoint ({@code src/test/resources/savepoints/<release>}, made by
 * the code of that release from {@link FeatureCompatData}) restores into the current code, and the features continue
 * correctly. For each release: fresh topics get exactly the records the savepoint had read (so its Kafka offsets
 * line up, which the test checks against the recorded end offsets), the current job starts from the savepoint (no
 * state may be left unrestored; the checkpoint statistics must name the savepoint; starting offsets "latest", so a
 * job that lost its source state could not quietly re-read the topics), then
 * <ul>
 *   <li>every user's features from before the savepoint are in queryable state, equal to the reference over the
 *       actions before the savepoint (including the users u0..u99 who never act again);</li>
 *   <li>after more items (new ones, newer vectors, a stale update) and actions, each user's records on the topic
 *       continue the update sequence (the first one after the restore is above the count before it: no reset, no
 *       replay) and the final features, on the topic and in queryable state, equal {@link ReferenceFeatures} over all
 *       actions, before and after. The retired v0 appears in no user's vectors: the broadcast state (v0 RETIRED) came
 *       through the savepoint too, since the items still carry v0 vectors.</li>
 * </ul>
 * With {@code -Dsavepoint.generate=<release>} it instead writes that release's savepoint with the current code (see
 * docs/architecture.md, "State compatibility").
 */
class FeatureStateCompatibilityTest {
    @RegisterExtension
    static final PipelineTestCluster CLUSTER = new PipelineTestCluster();

    @ReleasedSavepoints.EachRelease
    void restoresAndContinues(String release) throws Exception {
        String bootstrap = CLUSTER.bootstrapServers();
        FeatureCompatData data = new FeatureCompatData();
        Properties meta = ReleasedSavepoints.prepareRestore(CLUSTER, release, FeatureJob.NAME,
                FeatureCompatData.DATA_VERSION, data.fingerprint());
        String prefix = meta.getProperty("topic.prefix");
        JobConfig config = new FeatureJob().parseConfig(
                ReleasedSavepoints.startingFromLatest(FeatureCompatData.jobArgs(bootstrap, prefix)));
        FeatureParams params = FeatureParams.from(config);

        try (KafkaTestIO kafka = new KafkaTestIO(bootstrap);
             QueryableStateReader reader = new QueryableStateReader(CLUSTER.queryableStateClient())) {
            JobInput input = new JobInput(kafka, prefix, FeatureJob.NAME);
            data.produceBefore(input, false);
            ReleasedSavepoints.assertInputAsRecorded(bootstrap, FeatureCompatData.inputTopics(prefix), release, meta);
            JobClient job = ReleasedSavepoints.restore(CLUSTER, new FeatureJob(), config, release);

            // The state from before the savepoint is there, and right.
            Map<String, ReferenceFeatures> before = data.expected(params, false);
            for (Map.Entry<String, ReferenceFeatures> e : before.entrySet()) {
                UserFeatures f = reader.lookup(job.getJobID(), e.getKey(), QueryableStates.userFeatures(), Duration.ofMinutes(2),
                        x -> x.getUpdateSeq() == e.getValue().count);
                assertThat(f).as("restored features of %s in queryable state (waited 2 minutes)", e.getKey()).isNotNull();
                e.getValue().assertMatches(f);
            }

            // More input: items first (checkpointed, so every action sees them), then actions.
            input.produce(Topic.ITEM_EMBEDDINGS, data.itemsAfter, ItemEmbedding::getItemId, true);
            input.produce(Topic.USER_ACTIONS, data.actionsAfter, UserAction::getUserId);

            Map<String, Long> beforeCounts = data.actionCounts(false);
            Map<String, Long> allCounts = data.actionCounts(true);
            Map<String, Long> expectedSeq = new HashMap<>();
            data.actionsAfter.forEach(a -> expectedSeq.put(a.getUserId(), allCounts.get(a.getUserId())));
            Map<String, UserFeatures> fromTopic = readContinuation(kafka, prefix, beforeCounts, expectedSeq);
            assertThat(fromTopic.keySet()).as("users with records after the restore: those who acted after it (nothing re-read)")
                    .isEqualTo(expectedSeq.keySet());

            Map<String, ReferenceFeatures> all = data.expected(params, true);
            fromTopic.forEach((user, f) -> all.get(user).assertMatches(f));
            assertThat(all.keySet()).hasSize(FeatureCompatData.USERS);
            for (Map.Entry<String, ReferenceFeatures> e : all.entrySet()) {
                UserFeatures f = reader.lookup(job.getJobID(), e.getKey(), QueryableStates.userFeatures(), Duration.ofMinutes(1),
                        x -> x.getUpdateSeq() == e.getValue().count);
                assertThat(f).as("features of %s in queryable state", e.getKey()).isNotNull();
                e.getValue().assertMatches(f);
                assertThat(f.getVectors()).extracting(v -> v.getModelVersion()).doesNotContain("v0");
            }
            job.cancel().get(2, TimeUnit.MINUTES);
        }
    }

    /**
     * Reads user-features (read_committed) until every user acting after the restore has its final update sequence,
     * checks each user's sequence strictly increases from record to record and starts above the user's count before
     * the savepoint, and returns each user's latest record.
     */
    private static Map<String, UserFeatures> readContinuation(KafkaTestIO kafka, String prefix, Map<String, Long> beforeCounts,
                                                             Map<String, Long> expectedSeq) {
        List<KafkaTestIO.Received<UserFeatures>> records = FeatureScenario.readUntilSeq(kafka, prefix, expectedSeq,
                Duration.ofMinutes(5));
        Map<String, Long> previous = new HashMap<>();
        Map<String, UserFeatures> latest = new HashMap<>();
        for (KafkaTestIO.Received<UserFeatures> r : records) {
            UserFeatures f = r.decoded();
            String user = f.getUserId();
            long floor = previous.getOrDefault(user, beforeCounts.getOrDefault(user, 0L));
            assertThat(f.getUpdateSeq()).as("update sequence of %s continues from %d (no reset, no duplicate)", user, floor)
                    .isGreaterThan(floor);
            previous.put(user, f.getUpdateSeq());
            latest.put(user, f);
        }
        assertThat(previous).as("each user's last updateSeq after the restore (waited 5 minutes)").isEqualTo(expectedSeq);
        return latest;
    }

    /**
     * Writes the savepoint of release {@code -Dsavepoint.generate} with the current code: feeds the data before the
     * savepoint, waits until the job has checkpointed all of it and published every user's features, stops it with a
     * savepoint and copies that into {@code src/test/resources/savepoints/<release>}.
     */
    @ReleasedSavepoints.Generator
    void generateSavepoint() throws Exception {
        ReleasedSavepoints.Generation generation = ReleasedSavepoints.startGeneration(CLUSTER, FeatureCompatData.PARTITIONS);
        String prefix = generation.topicPrefix();
        FeatureCompatData data = new FeatureCompatData();
        JobConfig config = new FeatureJob().parseConfig(FeatureCompatData.jobArgs(CLUSTER.bootstrapServers(), prefix));
        try (KafkaTestIO kafka = new KafkaTestIO(CLUSTER.bootstrapServers())) {
            JobInput input = new JobInput(kafka, prefix, FeatureJob.NAME);
            JobClient job = JobSetup.submit(new FeatureJob(), CLUSTER.environment(), config);
            CLUSTER.awaitJobRunning(job.getJobID(), Duration.ofMinutes(2));
            data.produceBefore(input, true);
            input.awaitIngested(Topic.USER_ACTIONS);
            Map<String, Long> counts = data.actionCounts(false);
            List<KafkaTestIO.Received<UserFeatures>> out = FeatureScenario.readUntilSeq(kafka, prefix, counts, Duration.ofMinutes(5));
            assertThat(FeatureScenario.highestSeq(out)).as("every user's features published (waited 5 minutes)").isEqualTo(counts);

            String savepoint = ReleasedSavepoints.stopWithSavepoint(CLUSTER, job);
            Properties meta = generation.metadata(FeatureJob.NAME, FeatureCompatData.DATA_VERSION, data.fingerprint(),
                    FeatureCompatData.inputTopics(prefix), FeatureCompatData.jobArgs("<broker>", prefix));
            generation.store(savepoint, meta, FeatureStateCompatibilityTest.class, dataReadme(meta));
        }
    }

    /** The README's paragraph on the data of a release. */
    private static String dataReadme(Properties meta) {
        return "Data: `FeatureCompatData` data version " + meta.getProperty("data.version") + " (feature-job test sources):"
                + " model versions v0 RETIRED, v1 SERVING, v2 LOADING; 300 items (v1 all, v2 every second, v0 every tenth);"
                + " 3,000 actions of 270 users, all processed, checkpointed and published before the savepoint. Topics `"
                + meta.getProperty("topic.prefix") + "*`, " + meta.getProperty("partitions") + " partitions, parallelism "
                + FeatureCompatData.PARALLELISM + "; the end offsets of the input topics are in `savepoint.properties`.";
    }
}
