package dev.streamrec.index;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import dev.streamrec.avro.Candidate;
import dev.streamrec.avro.ItemEmbedding;
import dev.streamrec.avro.ModelPhase;
import dev.streamrec.avro.ModelVersion;
import dev.streamrec.avro.RecallRefill;
import dev.streamrec.avro.RecallResult;
import dev.streamrec.avro.SeenExclusion;
import dev.streamrec.avro.UserFeatures;
import dev.streamrec.index.ann.BruteForceIndex;
import dev.streamrec.index.ann.ClusteredVectors;
import dev.streamrec.index.ann.Neighbor;
import dev.streamrec.jobs.config.JobConfig;
import dev.streamrec.schemas.Topic;
import dev.streamrec.testkit.CollectionIO;
import dev.streamrec.testkit.OperatorUids;

/**
 * The whole index-job graph without a broker: bounded collections in, collecting sinks out, on a local MiniCluster
 * with RocksDB. The users' features are released one per completed checkpoint after a first (undecodable) record, so
 * they reach the shards after the items (a completed checkpoint means every operator has processed what the item
 * source emitted before it): every user is then answered from every shard with live items of the right version and
 * their exact cosine scores, the triggers are excluded from i2i, a refill's seen items from the user's recall, and bad
 * input is dead-lettered. Recall quality against exact search is IndexJobIntegrationTest's.
 */
class IndexJobGraphTest {
    /** The uids the released savepoints were taken with: changing one loses that operator's state on upgrade. */
    static final List<String> RELEASED_UIDS = List.of(
            "Sink Committer: index-dead-letters-sink", "Sink Committer: index-recall-sink",
            "index-dead-letters-sink", "index-item-commands", "index-items-decode", "index-items-source",
            "index-items-validate", "index-model-versions-decode", "index-model-versions-source", "index-recall-merger",
            "index-recall-scheduler", "index-recall-sink", "index-request-assembler", "index-shards",
            "index-trigger-lookup-commands", "index-trigger-vectors", "index-user-features-decode",
            "index-user-features-source");
    /** Operators added since the last release: they start without state when a released savepoint is restored. */
    static final List<String> ADDED_UIDS = List.of("index-item-change-batches", "index-model-version-controls",
            "index-recall-refills-decode", "index-recall-refills-source", "index-scheduler-features", "index-scheduler-refills");

    static JobConfig config() {
        return new IndexJob().parseConfig("--parallelism", "1", "--checkpoint.interval.ms", "300", "--index.vector-dimension", String.valueOf(IndexScenario.DIMENSION),
                "--index.shards", "4", "--recall.k", "20", "--recall.debounce.ms", "0");
    }

    @Test
    void everyUserIsAnsweredWithLiveItemsAndExactScores() throws Exception {
        int itemCount = 300;
        ClusteredVectors data = new ClusteredVectors(5, IndexScenario.DIMENSION, 8, 0.15);
        List<ItemEmbedding> items = new ArrayList<>();
        Map<String, float[]> vectorOf = new HashMap<>();
        for (int i = 0; i < itemCount; i++) {
            items.add(IndexFixtures.item(ClusteredVectors.itemId(i), "v1", data.vector(i), IndexFixtures.T0));
            vectorOf.put(ClusteredVectors.itemId(i), data.vector(i));
        }
        items.add(IndexFixtures.item("bad-item", "v1", new float[IndexScenario.DIMENSION + 1], IndexFixtures.T0));
        List<UserFeatures> users = new ArrayList<>();
        Map<String, float[]> userVector = new HashMap<>();
        for (int u = 0; u < 12; u++) {
            float[] v = data.vector(1000 + u);
            userVector.put("user-" + u, v);
            users.add(IndexFixtures.features("user-" + u, Map.of("v1", v),
                    List.of(IndexFixtures.trigger(ClusteredVectors.itemId(u), 1, IndexFixtures.T0 + u)), IndexFixtures.T0 + u));
        }
        // dedup-job asks for user-0's recall without the five items nearest to them. Whether the refill comes before
        // their features (kept for the features' request) or after (a request of its own), the recall leaves them out.
        BruteForceIndex exact = new BruteForceIndex(IndexScenario.DIMENSION);
        vectorOf.forEach((id, v) -> exact.upsert(id, v, 1));
        List<String> seenByUser0 = exact.search(userVector.get("user-0"), 5, null).stream().map(Neighbor::itemId).toList();
        RecallRefill refill = new RecallRefill("user-0",
                seenByUser0.stream().map(id -> new SeenExclusion(id, IndexFixtures.T0 + 3_600_000)).toList(), 0, 50,
                IndexFixtures.T0, IndexFixtures.T0);
        CollectionIO io = new CollectionIO()
                .input(Topic.MODEL_VERSIONS, ModelVersion.class, ModelVersion::getVersion,
                        List.of(IndexFixtures.phase("v1", ModelPhase.SERVING, IndexFixtures.T0)))
                .input(Topic.ITEM_EMBEDDINGS, ItemEmbedding.class, ItemEmbedding::getItemId, items)
                .raw(Topic.USER_FEATURES, "user-x".getBytes(StandardCharsets.UTF_8), "not avro".getBytes(StandardCharsets.UTF_8))
                .input(Topic.USER_FEATURES, UserFeatures.class, UserFeatures::getUserId, users)
                .onePerCheckpoint(Topic.USER_FEATURES)
                .input(Topic.RECALL_REFILLS, RecallRefill.class, RecallRefill::getUserId, List.of(refill));

        JobConfig config = config();
        io.run(new IndexJob(), config);

        Map<String, RecallResult> latest = new HashMap<>();
        for (RecallResult r : io.<RecallResult>output(Topic.RECALL)) {
            latest.put(r.getUserId(), r);
        }
        assertThat(latest.keySet()).as("every user got a recall").isEqualTo(userVector.keySet());
        latest.forEach((user, r) -> {
            assertThat(r.getModelVersion()).isEqualTo("v1");
            assertThat(r.getSourceEventTime()).isEqualTo(IndexFixtures.T0 + Integer.parseInt(user.substring(5)));
            for (Candidate c : r.getCandidates()) {
                assertThat(vectorOf).as("candidate %s of %s is a live item", c.getItemId(), user).containsKey(c.getItemId());
                if (c.getChannel().equals(RecallMerge.U2I)) {
                    assertThat(c.getScore()).as("u2i score of %s for %s: the cosine", c.getItemId(), user)
                            .isCloseTo(cosine(userVector.get(user), vectorOf.get(c.getItemId())), org.assertj.core.data.Offset.offset(1e-4));
                } else {
                    assertThat(c.getItemId()).as("i2i never recalls the user's own trigger").isNotEqualTo(ClusteredVectors.itemId(Integer.parseInt(user.substring(5))));
                }
            }
        });
        assertThat(latest.get("user-0").getCandidates()).as("user-0's recall after the refill").hasSize(20)
                .extracting(Candidate::getItemId).doesNotContainAnyElementsOf(seenByUser0);
        assertThat(latest.values().stream().mapToInt(r -> r.getCandidates().size()).sum())
                .as("candidates recalled in all (the checks above are not vacuous)").isPositive();
        assertThat(io.deadLetterCodes()).containsExactly("bad-vector", "undecodable");
    }

    @Test
    void everyOperatorHasTheReleasedStableUid() {
        assertThat(OperatorUids.of(new IndexJob(), config()))
                .isEqualTo(java.util.stream.Stream.concat(RELEASED_UIDS.stream(), ADDED_UIDS.stream()).sorted().toList());
    }

    private static double cosine(float[] a, float[] b) {
        double dot = 0;
        double na = 0;
        double nb = 0;
        for (int i = 0; i < a.length; i++) {
            dot += a[i] * b[i];
            na += a[i] * a[i];
            nb += b[i] * b[i];
        }
        return dot / Math.sqrt(na * nb);
    }
}
