package dev.streamrec.index;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

import org.apache.flink.core.execution.JobClient;
import org.junit.jupiter.api.extension.RegisterExtension;

import dev.streamrec.avro.Candidate;
import dev.streamrec.avro.ItemEmbedding;
import dev.streamrec.avro.ItemStatus;
import dev.streamrec.avro.ModelVersion;
import dev.streamrec.avro.RecallResult;
import dev.streamrec.avro.UserFeatures;
import dev.streamrec.client.FlinkRestClient;
import dev.streamrec.client.IndexShardMetrics;
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
 * State compatibility: every released index-job savepoint ({@code src/test/resources/savepoints/<release>}, made by
 * the code of that release from {@link IndexCompatData}) restores into the current code, and recall continues
 * correctly. For each release: fresh topics get exactly the records the savepoint had read (checked against the
 * recorded end offsets), the current job starts from the savepoint (no state may be left unrestored; the checkpoint
 * statistics must name the savepoint; starting offsets "latest", so a job that lost its source state could not
 * quietly re-read the topics), then
 * <ul>
 *   <li>every user's recall from before the savepoint is in queryable state and equals exact search over the items
 *       as they were (v1: the serving version came back from broadcast state, the configured initial version is
 *       v2);</li>
 *   <li>after upserts, deletes, a stale update, new items, v2 SERVING and new features of 140 users, each of those
 *       users' recall (topic, read_committed, each record once; and queryable state) equals exact search over all
 *       items fed before and after the restore: on v2 for users with a v2 vector, whose v2 index had no snapshot and
 *       was rebuilt from the restored items; on v1 for the others, whose index came from the snapshot of run A
 *       reconciled with the items changed after it (see {@link IndexCompatData}). Items from before the savepoint
 *       are found without being sent again; deleted ones never;</li>
 *   <li>the users who sent nothing new keep their recall from before the savepoint.</li>
 * </ul>
 * With {@code -Dsavepoint.generate=<release>} it instead writes that release's savepoint with the current code (see
 * docs/architecture.md, "State compatibility").
 */
class IndexStateCompatibilityTest {
    @RegisterExtension
    static final PipelineTestCluster CLUSTER = new PipelineTestCluster();

    @ReleasedSavepoints.EachRelease
    void restoresAndContinues(String release) throws Exception {
        IndexCompatData data = new IndexCompatData();
        Properties meta = ReleasedSavepoints.prepareRestore(CLUSTER, release, IndexJob.NAME, IndexCompatData.DATA_VERSION,
                data.fingerprint());
        String prefix = meta.getProperty("topic.prefix");
        JobConfig config = new IndexJob().parseConfig(ReleasedSavepoints.startingFromLatest(
                IndexCompatData.jobArgs(CLUSTER.bootstrapServers(), prefix, IndexCompatData.SNAPSHOT_INTERVAL_MS)));

        try (KafkaTestIO kafka = new KafkaTestIO(CLUSTER.bootstrapServers());
             QueryableStateReader reader = new QueryableStateReader(CLUSTER.queryableStateClient())) {
            JobInput input = new JobInput(kafka, prefix, IndexJob.NAME);
            data.produceA(input, false);
            data.produceB(input, false);
            ReleasedSavepoints.assertInputAsRecorded(kafka.bootstrapServers(), IndexCompatData.inputTopics(prefix), release, meta);
            JobClient job = ReleasedSavepoints.restore(CLUSTER, new IndexJob(), config, release);

            // The recall from before the savepoint is there, and right.
            IndexCompatData.Items atSavepoint = data.itemsAtSavepoint();
            Map<String, RecallResult> before = new LinkedHashMap<>();
            for (UserFeatures f : data.featuresB) {
                RecallResult r = reader.lookup(job.getJobID(), f.getUserId(), QueryableStates.recall(QueryableStates.RECALL),
                        Duration.ofMinutes(2), x -> x.getSourceEventTime() == f.getLastEventTime());
                IndexCompatData.assertRecall(r, IndexCompatData.servingVersion(f, false),
                        IndexCompatData.expectedRecall(f, "v1", atSavepoint), "restored recall of " + f.getUserId());
                before.put(f.getUserId(), r);
            }

            // More input: item changes, then v2 serves, then new features (each checkpointed before the next).
            input.produce(Topic.ITEM_EMBEDDINGS, data.itemsAfter, ItemEmbedding::getItemId, true);
            input.produce(Topic.MODEL_VERSIONS, data.versionsAfter, ModelVersion::getVersion, true);
            input.produce(Topic.USER_FEATURES, data.featuresAfter, UserFeatures::getUserId);

            IndexCompatData.Items after = data.itemsAfterRestore();
            Map<String, RecallResult> fromTopic = IndexCompatData.readRecall(kafka, prefix, data.featuresAfter);
            // Deletes leave the stored recall of every user without waiting for them (re-emitted purged).
            Set<String> deletedAfter = data.itemsAfter.stream().filter(i -> i.getStatus() == ItemStatus.DELETED)
                    .map(ItemEmbedding::getItemId).collect(Collectors.toSet());
            Set<String> updated = data.featuresAfter.stream().map(UserFeatures::getUserId).collect(Collectors.toSet());
            Map<String, RecallResult> purged = new LinkedHashMap<>();
            before.forEach((user, r) -> {
                if (!updated.contains(user) && r.getCandidates().stream().anyMatch(c -> deletedAfter.contains(c.getItemId()))) {
                    RecallResult without = RecallResult.newBuilder(r).setCandidates(r.getCandidates().stream()
                            .filter(c -> !deletedAfter.contains(c.getItemId())).toList()).build();
                    purged.put(user, without);
                }
            });
            assertThat(purged).as("users whose restored recall holds an item deleted after the restore").isNotEmpty();
            Set<String> expectedUsers = new java.util.HashSet<>(updated);
            expectedUsers.addAll(purged.keySet());
            assertThat(fromTopic.keySet()).as("users with recall records after the restore: those with new features and "
                    + "those who held a deleted item (nothing re-read)").containsExactlyInAnyOrderElementsOf(expectedUsers);
            purged.forEach((user, r) -> assertThat(fromTopic.get(user)).as("purged recall of %s on the topic", user).isEqualTo(r));
            List<String> versions = new ArrayList<>();
            for (UserFeatures f : data.featuresAfter) {
                String version = IndexCompatData.servingVersion(f, true);
                versions.add(version);
                List<Candidate> expected = IndexCompatData.expectedRecall(f, version, after);
                RecallResult r = fromTopic.get(f.getUserId());
                IndexCompatData.assertRecall(r, version, expected, "recall of " + f.getUserId() + " after the restore");
                RecallResult queried = reader.lookup(job.getJobID(), f.getUserId(), QueryableStates.recall(QueryableStates.RECALL),
                        Duration.ofMinutes(1), x -> x.getComputedAt() >= r.getComputedAt());
                assertThat(queried).as("queryable recall of %s", f.getUserId()).isEqualTo(r);
            }
            assertThat(versions).as("recall on both model versions after the restore").contains("v1", "v2");

            for (UserFeatures f : data.featuresB.subList(IndexCompatData.UPDATED_USERS, IndexCompatData.USERS)) {
                RecallResult r = reader.lookupOnce(job.getJobID(), f.getUserId(), QueryableStates.recall(QueryableStates.RECALL),
                        Duration.ofSeconds(30));
                assertThat(r).as("recall of %s, who sent nothing new", f.getUserId())
                        .isEqualTo(purged.getOrDefault(f.getUserId(), before.get(f.getUserId())));
            }
            job.cancel().get(2, TimeUnit.MINUTES);
        }
    }

    /**
     * Writes the savepoint of release {@code -Dsavepoint.generate} with the current code: run A (v1 items, snapshots
     * on) until every shard's snapshot is current, a savepoint, run B restored from it (v2 items, more v1 changes, user
     * features; no snapshot) until every user's recall is published and correct, and the final savepoint, copied into
     * {@code src/test/resources/savepoints/<release>}.
     */
    @ReleasedSavepoints.Generator
    void generateSavepoint() throws Exception {
        IndexCompatData data = new IndexCompatData();
        ReleasedSavepoints.Generation generation = ReleasedSavepoints.startGeneration(CLUSTER, IndexCompatData.PARTITIONS);
        String prefix = generation.topicPrefix();
        String bootstrap = CLUSTER.bootstrapServers();
        try (KafkaTestIO kafka = new KafkaTestIO(bootstrap)) {
            JobInput input = new JobInput(kafka, prefix, IndexJob.NAME);
            JobClient a = JobSetup.submit(new IndexJob(), CLUSTER.environment(),
                    new IndexJob().parseConfig(IndexCompatData.jobArgs(bootstrap, prefix, IndexCompatData.FIRST_SNAPSHOT_INTERVAL_MS)));
            CLUSTER.awaitJobRunning(a.getJobID(), Duration.ofMinutes(2));
            data.produceA(input, true);
            awaitSnapshotsCurrent(a, Duration.ofMinutes(3));
            String first = ReleasedSavepoints.stopWithSavepoint(CLUSTER, a);

            JobClient b = ReleasedSavepoints.submitFrom(CLUSTER, new IndexJob(),
                    new IndexJob().parseConfig(IndexCompatData.jobArgs(bootstrap, prefix, IndexCompatData.SNAPSHOT_INTERVAL_MS)), first);
            data.produceB(input, true);
            Map<String, RecallResult> recall = IndexCompatData.readRecall(kafka, prefix, data.featuresB);
            IndexCompatData.Items items = data.itemsAtSavepoint();
            for (UserFeatures f : data.featuresB) {
                IndexCompatData.assertRecall(recall.get(f.getUserId()), "v1", IndexCompatData.expectedRecall(f, "v1", items),
                        "recall of " + f.getUserId() + " before the savepoint");
            }
            String savepoint = ReleasedSavepoints.stopWithSavepoint(CLUSTER, b);

            Properties meta = generation.metadata(IndexJob.NAME, IndexCompatData.DATA_VERSION, data.fingerprint(),
                    IndexCompatData.inputTopics(prefix), IndexCompatData.jobArgs("<broker>", prefix, IndexCompatData.SNAPSHOT_INTERVAL_MS));
            generation.store(savepoint, meta, IndexStateCompatibilityTest.class, dataReadme(meta));
        }
    }

    /**
     * Waits until every shard reports {@code snapshotCurrent} = 1 (its HNSW snapshot covers its index). Called only
     * after the job has checkpointed all of run A's items, and no REST metric was asked for before: the first answer of
     * the REST metric cache is fetched after the last item change, so a stale "current" cannot be seen.
     */
    private static void awaitSnapshotsCurrent(JobClient job, Duration timeout) throws Exception {
        FlinkRestClient rest = new FlinkRestClient("127.0.0.1", CLUSTER.restPort());
        String jobId = job.getJobID().toString();
        long deadline = System.nanoTime() + timeout.toNanos();
        Map<String, Double> current = Map.of();
        while (System.nanoTime() < deadline) {
            current = IndexShardMetrics.perShard(rest, jobId, ".snapshotCurrent");
            if (current.size() == IndexCompatData.SHARDS && current.values().stream().allMatch(v -> v >= 1)) {
                return;
            }
            Thread.sleep(500);
        }
        throw new AssertionError("shards' snapshots not current after " + timeout + ": " + current);
    }

    /** The README's paragraph on the data of a release. */
    private static String dataReadme(Properties meta) {
        return "Data: `IndexCompatData` data version " + meta.getProperty("data.version") + " (index-job test sources),"
                + " fed in two runs of the job: run A (v1 SERVING, 300 v1 items in 20 clusters, 15 deleted; snapshots every"
                + " second, waited for on every shard), savepoint, run B restored from it with snapshots every 24 h"
                + " (v2 LOADING, v2 vectors of every item, 6 newer v1 vectors, 4 deletes, 20 new items, features of 200"
                + " users; every user's recall published), then this savepoint. It holds a v1 HNSW snapshot per shard that"
                + " is older than the items (a restore reconciles it) and no v2 snapshot (a restore rebuilds v2). "
                + IndexCompatData.SHARDS + " shards; topics `" + meta.getProperty("topic.prefix") + "*`, "
                + meta.getProperty("partitions") + " partitions, parallelism " + IndexCompatData.PARALLELISM
                + "; the end offsets of the input topics are in `savepoint.properties`.";
    }
}
