package dev.streamrec.index;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;

import org.apache.flink.configuration.Configuration;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.core.execution.SavepointFormatType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.DisabledIfSystemProperty;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import com.fasterxml.jackson.databind.JsonNode;

import dev.streamrec.avro.Candidate;
import dev.streamrec.avro.RecallResult;
import dev.streamrec.avro.UserFeatures;
import dev.streamrec.client.FlinkRestClient;
import dev.streamrec.client.QueryableStateReader;
import dev.streamrec.jobs.JobSetup;
import dev.streamrec.jobs.config.JobConfig;
import dev.streamrec.schemas.QueryableStates;
import dev.streamrec.schemas.Topic;
import dev.streamrec.testkit.KafkaTestIO;
import dev.streamrec.testkit.PipelineTestCluster;
import dev.streamrec.testkit.TopicAdmin;

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

    static List<String> releases() {
        return CompatSavepoints.releases();
    }

    @ParameterizedTest(name = "index-job savepoint of release {0}")
    @MethodSource("releases")
    @DisabledIfSystemProperty(named = CompatSavepoints.GENERATE_PROPERTY, matches = ".+")
    void restoresAndContinues(String release) throws Exception {
        Properties meta = CompatSavepoints.metadata(release);
        assertThat(meta.getProperty("job")).isEqualTo(IndexJob.NAME);
        assertThat(meta.getProperty("data.version")).as("data version of release %s", release)
                .isEqualTo(String.valueOf(IndexCompatData.DATA_VERSION));
        IndexCompatData data = new IndexCompatData();
        assertThat(data.fingerprint()).as("the generator still makes the data of release %s", release)
                .isEqualTo(meta.getProperty("data.fingerprint"));
        String prefix = meta.getProperty("topic.prefix");
        String bootstrap = CLUSTER.bootstrapServers();
        TopicAdmin.createPipelineTopics(bootstrap, prefix, Integer.parseInt(meta.getProperty("partitions")));
        JobConfig config = new IndexJob().parseConfig(CompatSavepoints.startingFromLatest(
                IndexCompatData.jobArgs(bootstrap, prefix, IndexCompatData.SNAPSHOT_INTERVAL_MS)));

        try (KafkaTestIO kafka = new KafkaTestIO(bootstrap);
             QueryableStateReader reader = new QueryableStateReader(CLUSTER.queryableStateClient())) {
            data.produceA(kafka, prefix, false);
            data.produceB(kafka, prefix, false);
            assertThat(CompatSavepoints.endOffsets(bootstrap, IndexCompatData.inputTopics(prefix)))
                    .as("input topics hold what the savepoint of %s had read", release)
                    .isEqualTo(CompatSavepoints.recordedOffsets(meta));

            Configuration restore = new Configuration();
            restore.setString("execution.state-recovery.path", CompatSavepoints.savepointUri(release));
            JobClient job = JobSetup.submit(new IndexJob(), CLUSTER.environment(restore), config);
            CLUSTER.awaitJobRunning(job.getJobID(), Duration.ofMinutes(2));
            CompatSavepoints.assertRestoredFrom(CLUSTER.restPort(), job.getJobID(), CompatSavepoints.savepointUri(release));

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
            IndexCompatData.produceItems(kafka, prefix, data.itemsAfter);
            IndexCompatData.awaitIngested(kafka, prefix, Topic.ITEM_EMBEDDINGS);
            IndexCompatData.produceVersions(kafka, prefix, data.versionsAfter);
            IndexCompatData.awaitIngested(kafka, prefix, Topic.MODEL_VERSIONS);
            IndexCompatData.produceFeatures(kafka, prefix, data.featuresAfter);

            IndexCompatData.Items after = data.itemsAfterRestore();
            Map<String, RecallResult> fromTopic = IndexCompatData.readRecall(kafka, prefix, data.featuresAfter);
            assertThat(fromTopic.keySet()).as("users with recall records after the restore: those with new features (nothing re-read)")
                    .containsExactlyInAnyOrderElementsOf(data.featuresAfter.stream().map(UserFeatures::getUserId).toList());
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
                assertThat(r).as("recall of %s, who sent nothing new", f.getUserId()).isEqualTo(before.get(f.getUserId()));
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
    @Test
    @EnabledIfSystemProperty(named = CompatSavepoints.GENERATE_PROPERTY, matches = ".+")
    void generateSavepoint() throws Exception {
        String release = System.getProperty(CompatSavepoints.GENERATE_PROPERTY);
        Path target = CompatSavepoints.generationTarget(release);
        String prefix = CompatSavepoints.topicPrefix(release);
        String bootstrap = CLUSTER.bootstrapServers();
        TopicAdmin.createPipelineTopics(bootstrap, prefix, IndexCompatData.PARTITIONS);
        IndexCompatData data = new IndexCompatData();
        try (KafkaTestIO kafka = new KafkaTestIO(bootstrap)) {
            JobClient a = JobSetup.submit(new IndexJob(), CLUSTER.environment(),
                    new IndexJob().parseConfig(IndexCompatData.jobArgs(bootstrap, prefix, IndexCompatData.FIRST_SNAPSHOT_INTERVAL_MS)));
            CLUSTER.awaitJobRunning(a.getJobID(), Duration.ofMinutes(2));
            data.produceA(kafka, prefix, true);
            awaitSnapshotsCurrent(a, Duration.ofMinutes(3));
            String first = a.stopWithSavepoint(false, CLUSTER.savepointDir().toUri().toString(),
                    SavepointFormatType.CANONICAL).get(5, TimeUnit.MINUTES);

            Configuration restore = new Configuration();
            restore.setString("execution.state-recovery.path", first);
            JobClient b = JobSetup.submit(new IndexJob(), CLUSTER.environment(restore),
                    new IndexJob().parseConfig(IndexCompatData.jobArgs(bootstrap, prefix, IndexCompatData.SNAPSHOT_INTERVAL_MS)));
            CLUSTER.awaitJobRunning(b.getJobID(), Duration.ofMinutes(2));
            data.produceB(kafka, prefix, true);
            Map<String, RecallResult> recall = IndexCompatData.readRecall(kafka, prefix, data.featuresB);
            IndexCompatData.Items items = data.itemsAtSavepoint();
            for (UserFeatures f : data.featuresB) {
                IndexCompatData.assertRecall(recall.get(f.getUserId()), "v1", IndexCompatData.expectedRecall(f, "v1", items),
                        "recall of " + f.getUserId() + " before the savepoint");
            }
            String savepoint = b.stopWithSavepoint(false, CLUSTER.savepointDir().toUri().toString(),
                    SavepointFormatType.CANONICAL).get(5, TimeUnit.MINUTES);

            Properties meta = CompatSavepoints.baseMetadata(release, IndexJob.NAME, prefix, IndexCompatData.PARTITIONS,
                    IndexCompatData.DATA_VERSION, data.fingerprint(),
                    CompatSavepoints.endOffsets(bootstrap, IndexCompatData.inputTopics(prefix)));
            meta.setProperty("job.args", String.join(" ", IndexCompatData.jobArgs("<broker>", prefix, IndexCompatData.SNAPSHOT_INTERVAL_MS)));
            CompatSavepoints.store(target, savepoint, meta, readme(release, meta));
            System.out.printf("savepoint of release %s written to %s (%,d bytes)%n", release, target,
                    CompatSavepoints.sizeBytes(target.resolve(CompatSavepoints.SAVEPOINT)));
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
            current = shardMetric(rest, jobId, ".snapshotCurrent");
            if (current.size() == IndexCompatData.SHARDS && current.values().stream().allMatch(v -> v >= 1)) {
                return;
            }
            Thread.sleep(500);
        }
        throw new AssertionError("shards' snapshots not current after " + timeout + ": " + current);
    }

    /** A gauge of the shard operator per shard (shard number -> value), through the REST API. */
    private static Map<String, Double> shardMetric(FlinkRestClient rest, String jobId, String suffix) throws Exception {
        Map<String, Double> values = new LinkedHashMap<>();
        for (JsonNode v : rest.get("/jobs/" + jobId).get("vertices")) {
            if (!v.get("name").asText().contains("index shards")) {
                continue;
            }
            String base = "/jobs/" + jobId + "/vertices/" + v.get("id").asText() + "/metrics";
            List<String> ids = new ArrayList<>();
            for (JsonNode m : rest.get(base)) {
                String id = m.get("id").asText();
                if (id.contains(".shard.") && id.endsWith(suffix)) {
                    ids.add(id);
                }
            }
            if (!ids.isEmpty()) {
                for (JsonNode m : rest.get(base + "?get=" + String.join(",", ids))) {
                    String shard = m.get("id").asText().replaceAll(".*\\.shard\\.(\\d+)\\..*", "$1");
                    values.merge(shard, m.get("value").asDouble(), Math::max);
                }
            }
        }
        return values;
    }

    private static String readme(String release, Properties meta) {
        return "# index-job savepoint of release " + release + "\n\n"
                + "Taken with stop-with-savepoint (canonical format, RocksDB) by commit `" + meta.getProperty("commit")
                + "` on Flink " + meta.getProperty("flink.version") + ", " + meta.getProperty("created") + ".\n\n"
                + "Data: `IndexCompatData` data version " + meta.getProperty("data.version") + " (index-job test sources),"
                + " fed in two runs of the job: run A (v1 SERVING, 300 v1 items in 20 clusters, 15 deleted; snapshots every"
                + " second, waited for on every shard), savepoint, run B restored from it with snapshots every 24 h"
                + " (v2 LOADING, v2 vectors of every item, 6 newer v1 vectors, 4 deletes, 20 new items, features of 200"
                + " users; every user's recall published), then this savepoint. It holds a v1 HNSW snapshot per shard that"
                + " is older than the items (a restore reconciles it) and no v2 snapshot (a restore rebuilds v2). "
                + IndexCompatData.SHARDS + " shards; topics `" + meta.getProperty("topic.prefix") + "*`, "
                + meta.getProperty("partitions") + " partitions, parallelism " + IndexCompatData.PARALLELISM
                + "; the end offsets of the input topics are in `savepoint.properties`.\n\n"
                + "`IndexStateCompatibilityTest` restores it into the current code. Released savepoints are never"
                + " regenerated; a new release adds its own directory:\n\n"
                + "    mvn -pl index-job test -Dtest=IndexStateCompatibilityTest -Dsavepoint.generate=<release>\n";
    }
}
