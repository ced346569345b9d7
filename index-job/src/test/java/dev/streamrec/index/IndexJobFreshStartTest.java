package dev.streamrec.index;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;
import java.util.Map;

import org.apache.flink.core.execution.JobClient;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import dev.streamrec.avro.DeadLetter;
import dev.streamrec.avro.ModelPhase;
import dev.streamrec.avro.ModelVersion;
import dev.streamrec.avro.RecallResult;
import dev.streamrec.avro.UserFeatures;
import dev.streamrec.client.FlinkRestClient;
import dev.streamrec.client.IndexShardMetrics;
import dev.streamrec.index.ann.ClusteredVectors;
import dev.streamrec.jobs.JobSetup;
import dev.streamrec.schemas.Topic;
import dev.streamrec.testkit.KafkaTestIO;
import dev.streamrec.testkit.PipelineTestCluster;

/**
 * A start from nothing (no state) on topics that a running pipeline left behind: the compacted model-versions topic
 * holds only the version's SERVING record (its LOADING compacted away), item-embeddings holds its 10-dimensional
 * items, and the job's default dimension is 64. Every item is accepted (none is a dead letter), the index holds
 * them all, and a user's recall comes from that version. A tombstone on item-embeddings deletes its item.
 */
class IndexJobFreshStartTest {
    @RegisterExtension
    static final PipelineTestCluster CLUSTER = new PipelineTestCluster();

    private static final int ITEMS = 400;

    @Test
    void aStartWithoutStateFromACompactedModelVersionsTopicAcceptsTheVersionsItems() throws Exception {
        CLUSTER.createPipelineTopics(2);
        String prefix = CLUSTER.topicPrefix();
        ClusteredVectors vectors = new ClusteredVectors(9, 10, 8, 0.2);
        try (KafkaTestIO kafka = new KafkaTestIO(CLUSTER.bootstrapServers())) {
            long t = System.currentTimeMillis();
            kafka.produce(Topic.MODEL_VERSIONS.name(prefix), "m10", new ModelVersion("m10", ModelPhase.SERVING, (long) ITEMS, 10, t), t);
            for (int i = 0; i < ITEMS; i++) {
                String id = ClusteredVectors.itemId(i);
                kafka.produceAsync(Topic.ITEM_EMBEDDINGS.name(prefix), id, IndexFixtures.item(id, "m10", vectors.vector(i), t), t);
            }
            kafka.flush();

            JobClient job = JobSetup.submit(new IndexJob(), CLUSTER.environment(), IndexJobIntegrationTest.indexConfig(CLUSTER,
                    "--index.vector-dimension", "64", "--recall.k", "10", "--recall.debounce.ms", "0"));
            CLUSTER.awaitJobRunning(job.getJobID(), Duration.ofMinutes(1));
            IndexScenario.awaitIngested(kafka, prefix, IndexJob.NAME, Topic.ITEM_EMBEDDINGS);

            FlinkRestClient rest = new FlinkRestClient("127.0.0.1", CLUSTER.restPort());
            long indexed = 0;
            for (int attempt = 0; attempt < 120 && indexed < ITEMS; attempt++) { // REST metrics refresh every few seconds
                indexed = IndexShardMetrics.versionItems(rest, job.getJobID().toString(), "m10");
                Thread.sleep(1000);
            }
            assertThat(indexed).as("items of m10 in the index").isEqualTo(ITEMS);

            // A tombstone (null value) deletes its key's item; a user's recall then comes from m10 without it.
            kafka.produce(Topic.ITEM_EMBEDDINGS.name(prefix), ClusteredVectors.itemId(0), (byte[]) null, t + 1);
            IndexScenario.awaitIngested(kafka, prefix, IndexJob.NAME, Topic.ITEM_EMBEDDINGS);
            UserFeatures user = IndexFixtures.features("u1", Map.of("m10", vectors.vector(0)), List.of(), t);
            kafka.produce(Topic.USER_FEATURES.name(prefix), "u1", user, t);
            List<KafkaTestIO.Received<RecallResult>> recall = KafkaTestIO.consume(CLUSTER.bootstrapServers(),
                    Topic.RECALL.name(prefix), RecallResult.class, 1, Duration.ofMinutes(2));
            assertThat(recall).hasSize(1);
            RecallResult r = recall.get(0).decoded();
            assertThat(r.getModelVersion()).isEqualTo("m10");
            assertThat(r.getCandidates()).hasSize(10).noneMatch(c -> c.getItemId().equals(ClusteredVectors.itemId(0)));

            assertThat(KafkaTestIO.readToEnd(CLUSTER.bootstrapServers(), Topic.DEAD_LETTERS.name(prefix), DeadLetter.class,
                    Duration.ofMinutes(1))).as("dead letters").isEmpty();
            job.cancel().get();
        }
    }
}
