package dev.streamrec.index;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;
import java.util.Map;

import org.apache.flink.configuration.Configuration;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.core.execution.SavepointFormatType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import dev.streamrec.avro.Candidate;
import dev.streamrec.avro.ModelPhase;
import dev.streamrec.avro.ModelVersion;
import dev.streamrec.avro.RecallResult;
import dev.streamrec.avro.UserAction;
import dev.streamrec.avro.UserFeatures;
import dev.streamrec.avro.UserVector;
import dev.streamrec.client.QueryableStateReader;
import dev.streamrec.feature.FeatureJob;
import dev.streamrec.index.ann.BruteForceIndex;
import dev.streamrec.jobs.JobSetup;
import dev.streamrec.schemas.QueryableStates;
import dev.streamrec.schemas.Topic;
import dev.streamrec.testkit.KafkaTestIO;
import dev.streamrec.testkit.PipelineTestCluster;

/**
 * A v1 -> v2 model rollover with an index-job upgrade (stop with savepoint, restart from it) in the middle: v2
 * items are indexed beside v1 while v1 serves; v2 becomes SERVING; the job is stopped with a savepoint while
 * actions flow and restarted from it; recall computed afterwards uses the v2 index and users' v2 vectors (the index
 * and the serving version survived), matches exact search over v2, and the recall topic has every user's final
 * result exactly once. Retiring v1 keeps recall on v2.
 */
class IndexJobRolloverTest {
    @RegisterExtension
    static final PipelineTestCluster CLUSTER = new PipelineTestCluster();

    private static void publish(KafkaTestIO kafka, String prefix, String version, ModelPhase phase) throws Exception {
        long now = System.currentTimeMillis();
        kafka.produce(Topic.MODEL_VERSIONS.name(prefix), version, new ModelVersion(version, phase, null, null, now), now);
    }

    @Test
    void recallSwitchesToV2AndSurvivesASavepointMidRollover() throws Exception {
        CLUSTER.createPipelineTopics(2);
        String prefix = CLUSTER.topicPrefix();
        IndexScenario scenario = new IndexScenario(2000, 33);
        scenario.addVersion("v2", 34);
        try (KafkaTestIO kafka = new KafkaTestIO(CLUSTER.bootstrapServers())) {
            JobClient features = JobSetup.submit(new FeatureJob(), CLUSTER.environment(), IndexJobIntegrationTest.featureConfig(CLUSTER));
            JobClient index = JobSetup.submit(new IndexJob(), CLUSTER.environment(), IndexJobIntegrationTest.indexConfig(CLUSTER));
            CLUSTER.awaitJobRunning(features.getJobID(), Duration.ofMinutes(1));
            CLUSTER.awaitJobRunning(index.getJobID(), Duration.ofMinutes(1));

            publish(kafka, prefix, "v1", ModelPhase.SERVING);
            IndexScenario.produceItems(kafka, prefix, scenario.items("v1"));
            IndexScenario.produceItems(kafka, prefix, scenario.deletes("v1"));
            IndexScenario.awaitItemsIngested(kafka, prefix);
            IndexScenario.produceActions(kafka, prefix, scenario.actions(12, 5, 0));
            assertVersion(scenario.readFinalRecall(kafka, prefix, Duration.ofMinutes(3)), "v1");

            // v2 loads beside v1, then serves.
            publish(kafka, prefix, "v2", ModelPhase.LOADING);
            IndexScenario.produceItems(kafka, prefix, scenario.items("v2"));
            IndexScenario.awaitItemsIngested(kafka, prefix);
            publish(kafka, prefix, "v2", ModelPhase.SERVING);
            IndexScenario.awaitIngested(kafka, prefix, IndexJob.NAME, Topic.MODEL_VERSIONS);

            // Upgrade the index-job while actions flow: stop with a savepoint after some of them, restart from it.
            List<UserAction> during = scenario.actions(12, 6, 200_000);
            IndexScenario.produceActions(kafka, prefix, during);
            KafkaTestIO.consumeUntil(kafka.bootstrapServers(), Topic.USER_FEATURES.name(prefix), UserFeatures.class,
                    Duration.ofMinutes(1), read -> read.size() >= 60 + 20);
            String savepoint = index.stopWithSavepoint(false, CLUSTER.savepointDir().toUri().toString(),
                    SavepointFormatType.CANONICAL).get();
            Configuration restore = new Configuration();
            restore.setString("execution.state-recovery.path", savepoint);
            JobClient upgraded = JobSetup.submit(new IndexJob(), CLUSTER.environment(restore), IndexJobIntegrationTest.indexConfig(CLUSTER));
            CLUSTER.awaitJobRunning(upgraded.getJobID(), Duration.ofMinutes(1));

            Map<String, RecallResult> afterUpgrade = scenario.readFinalRecall(kafka, prefix, Duration.ofMinutes(3));
            assertVersion(afterUpgrade, "v2");
            assertMatchesExactSearch(afterUpgrade, scenario, features, "v2");

            publish(kafka, prefix, "v1", ModelPhase.RETIRED);
            IndexScenario.awaitIngested(kafka, prefix, IndexJob.NAME, Topic.MODEL_VERSIONS);
            IndexScenario.produceActions(kafka, prefix, scenario.actions(12, 2, 400_000));
            Map<String, RecallResult> afterRetire = scenario.readFinalRecall(kafka, prefix, Duration.ofMinutes(3));
            assertVersion(afterRetire, "v2");
            assertMatchesExactSearch(afterRetire, scenario, features, "v2");
            upgraded.cancel().get();
            features.cancel().get();
        }
    }

    private static void assertVersion(Map<String, RecallResult> recall, String version) {
        assertThat(recall.values()).allSatisfy(r -> assertThat(r.getModelVersion()).as("version of %s", r.getUserId()).isEqualTo(version));
    }

    private static void assertMatchesExactSearch(Map<String, RecallResult> recall, IndexScenario scenario, JobClient features,
                                                 String version) throws Exception {
        BruteForceIndex exact = scenario.exact(version);
        double sum = 0;
        try (QueryableStateReader reader = new QueryableStateReader(CLUSTER.queryableStateClient())) {
            for (RecallResult r : recall.values()) {
                UserFeatures f = reader.lookup(features.getJobID(), r.getUserId(), QueryableStates.userFeatures(),
                        Duration.ofSeconds(30), x -> x.getLastEventTime() == r.getSourceEventTime());
                UserVector v = f.getVectors().stream().filter(x -> x.getModelVersion().equals(version)).findFirst().orElseThrow();
                sum += IndexScenario.recallAt10(r, AvroVectors.fromList(v.getVector()), exact);
                assertThat(r.getCandidates()).extracting(Candidate::getItemId).noneMatch(scenario.deleted::contains);
            }
        }
        assertThat(sum / recall.size()).as("mean recall@10 against exact search over %s", version).isGreaterThanOrEqualTo(0.95);
    }
}
