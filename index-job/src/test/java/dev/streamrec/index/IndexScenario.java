package dev.streamrec.index;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.UUID;

import dev.streamrec.avro.ActionType;
import dev.streamrec.avro.Candidate;
import dev.streamrec.avro.ItemEmbedding;
import dev.streamrec.avro.RecallResult;
import dev.streamrec.avro.UserAction;
import dev.streamrec.feature.FeatureJob;
import dev.streamrec.index.ann.BruteForceIndex;
import dev.streamrec.index.ann.ClusteredVectors;
import dev.streamrec.index.ann.Neighbor;
import dev.streamrec.schemas.Topic;
import dev.streamrec.testkit.KafkaTestIO;
import dev.streamrec.testkit.TopicAdmin;

/**
 * End-to-end data for index-job with feature-job in front: clustered items under one or two model versions, some
 * deleted, and users acting on items of a few clusters. The checks compare the job's recall with an exact search
 * over the live items, computed here.
 */
final class IndexScenario {
    static final int DIMENSION = 16;
    final long base = System.currentTimeMillis() - 3_600_000L;
    final int itemCount;
    final Map<String, ClusteredVectors> versions = new LinkedHashMap<>();
    final Set<String> deleted = new HashSet<>();
    final List<UserAction> actions = new ArrayList<>();
    final Map<String, Long> lastEventTime = new HashMap<>();
    private final Random random;

    IndexScenario(int itemCount, long seed) {
        this.itemCount = itemCount;
        this.random = new Random(seed);
        versions.put("v1", new ClusteredVectors(seed, DIMENSION, 24, 0.15));
        for (int i = 0; i < itemCount; i += 25) {
            deleted.add(itemId(i));
        }
    }

    static String itemId(int i) {
        return ClusteredVectors.itemId(i);
    }

    /** A second model version: other vectors for the same items. */
    void addVersion(String version, long seed) {
        versions.put(version, new ClusteredVectors(seed, DIMENSION, 24, 0.15));
    }

    List<ItemEmbedding> items(String version) {
        ClusteredVectors data = versions.get(version);
        List<ItemEmbedding> out = new ArrayList<>();
        for (int i = 0; i < itemCount; i++) {
            out.add(IndexFixtures.item(itemId(i), version, data.vector(i), base - 60_000));
        }
        return out;
    }

    List<ItemEmbedding> deletes(String version) {
        return deleted.stream().sorted().map(id -> IndexFixtures.deleted(id, version, base - 30_000)).toList();
    }

    static void produceItems(KafkaTestIO kafka, String prefix, List<ItemEmbedding> items) {
        for (ItemEmbedding e : items) {
            kafka.produceAsync(Topic.ITEM_EMBEDDINGS.name(prefix), e.getItemId(), e, System.currentTimeMillis());
        }
        kafka.flush();
    }

    static void awaitIngested(KafkaTestIO kafka, String prefix, String job, Topic topic) throws Exception {
        assertThat(TopicAdmin.awaitCommittedToEnd(kafka.bootstrapServers(), prefix + job, topic.name(prefix), Duration.ofMinutes(3)))
                .as("%s ingested %s", job, topic).isTrue();
    }

    static void awaitItemsIngested(KafkaTestIO kafka, String prefix) throws Exception {
        awaitIngested(kafka, prefix, FeatureJob.NAME, Topic.ITEM_EMBEDDINGS);
        awaitIngested(kafka, prefix, IndexJob.NAME, Topic.ITEM_EMBEDDINGS);
    }

    /** Each user acts on live items near two cluster seeds; event times increase per user. */
    List<UserAction> actions(int users, int perUser, long startOffsetMs) {
        List<UserAction> out = new ArrayList<>();
        long t = base + startOffsetMs;
        for (int u = 0; u < users; u++) {
            String user = "user-" + u;
            for (int a = 0; a < perUser; a++) {
                String item;
                do {
                    item = itemId(random.nextInt(itemCount));
                } while (deleted.contains(item));
                t += 1 + random.nextInt(1000);
                ActionType type = a % 4 == 3 ? ActionType.LIKE : ActionType.CLICK;
                out.add(new UserAction(UUID.randomUUID().toString(), user, item, type, 1.0, t, null));
                lastEventTime.merge(user, t, Math::max);
            }
        }
        actions.addAll(out);
        return out;
    }

    static void produceActions(KafkaTestIO kafka, String prefix, List<UserAction> actions) {
        for (UserAction a : actions) {
            kafka.produceAsync(Topic.USER_ACTIONS.name(prefix), a.getUserId(), a, System.currentTimeMillis());
        }
        kafka.flush();
    }

    /** Exact search over the live items of a version. */
    BruteForceIndex exact(String version) {
        ClusteredVectors data = versions.get(version);
        BruteForceIndex exact = new BruteForceIndex(DIMENSION);
        for (int i = 0; i < itemCount; i++) {
            if (!deleted.contains(itemId(i))) {
                exact.upsert(itemId(i), data.vector(i), 1);
            }
        }
        return exact;
    }

    /**
     * Reads the recall topic until every user has a result reflecting their last action, checks that no record is
     * there twice, and returns each user's latest result.
     */
    Map<String, RecallResult> readFinalRecall(KafkaTestIO kafka, String prefix, Duration timeout) {
        List<KafkaTestIO.Received<RecallResult>> read = KafkaTestIO.consumeUntil(kafka.bootstrapServers(),
                Topic.RECALL.name(prefix), RecallResult.class, timeout, records -> latest(records).entrySet().stream()
                        .filter(e -> e.getValue().getSourceEventTime() == lastEventTime.getOrDefault(e.getKey(), -1L))
                        .count() == lastEventTime.size());
        Map<String, RecallResult> latest = latest(read);
        assertThat(latest.keySet()).as("users with recall").containsAll(lastEventTime.keySet());
        lastEventTime.forEach((user, t) ->
                assertThat(latest.get(user).getSourceEventTime()).as("recall of %s reflects its last action", user).isEqualTo(t));
        Set<String> distinct = new HashSet<>();
        for (KafkaTestIO.Received<RecallResult> r : read) {
            assertThat(r.key()).isEqualTo(r.decoded().getUserId());
            assertThat(distinct.add(r.decoded().toString())).as("duplicate recall record %s", r.decoded().getUserId()).isTrue();
        }
        return latest;
    }

    static Map<String, RecallResult> latest(List<KafkaTestIO.Received<RecallResult>> records) {
        Map<String, RecallResult> latest = new HashMap<>();
        for (KafkaTestIO.Received<RecallResult> r : records) {
            latest.merge(r.decoded().getUserId(), r.decoded(),
                    (a, b) -> b.getComputedAt() >= a.getComputedAt() ? b : a);
        }
        return latest;
    }

    static List<String> channel(RecallResult r, String channel) {
        return r.getCandidates().stream().filter(c -> c.getChannel().equals(channel)).map(Candidate::getItemId).toList();
    }

    /** recall@10 of the u2i channel against the exact top-10 for the user's vector. */
    static double recallAt10(RecallResult r, float[] userVector, BruteForceIndex exact) {
        List<String> truth = exact.search(userVector, 10, id -> false).stream().map(Neighbor::itemId).toList();
        List<String> got = channel(r, RecallMerge.U2I);
        got = got.subList(0, Math.min(10, got.size()));
        Set<String> hit = new HashSet<>(truth);
        hit.retainAll(got);
        return hit.size() / (double) truth.size();
    }
}
