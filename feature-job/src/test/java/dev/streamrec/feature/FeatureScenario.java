package dev.streamrec.feature;

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

import dev.streamrec.avro.ActionType;
import dev.streamrec.avro.ItemEmbedding;
import dev.streamrec.avro.UserAction;
import dev.streamrec.avro.UserFeatures;
import dev.streamrec.schemas.Topic;
import dev.streamrec.testkit.KafkaTestIO;
import dev.streamrec.testkit.TopicAdmin;

/**
 * Test data for end-to-end runs of feature-job, and the expected result computed independently: items (some with
 * two model versions), users acting on them with distinct event times (some late), one item whose embedding
 * arrives after actions on it.
 */
final class FeatureScenario {
    static final int DIMENSION = 8;
    final long base = System.currentTimeMillis() - 3_600_000L;
    final List<ItemEmbedding> items = new ArrayList<>();
    final ItemEmbedding lateItem;
    final List<UserAction> actions = new ArrayList<>();
    final Map<String, ItemEmbedding> itemById = new HashMap<>();
    final Map<String, ItemEmbedding> v2ById = new HashMap<>();

    FeatureScenario(int users, int itemsCount, int actionsCount, long seed) {
        Random r = new Random(seed);
        for (int i = 0; i < itemsCount; i++) {
            ItemEmbedding e = Fixtures.item("item-" + i, "v1", Fixtures.vector(r.nextLong(), DIMENSION), "cat-" + (i % 5),
                    List.of("tag-" + (i % 3), "tag-x" + (i % 7)), base - 10_000);
            items.add(e);
            itemById.put(e.getItemId(), e);
            if (i % 4 == 0) {
                ItemEmbedding v2 = Fixtures.item(e.getItemId(), "v2", Fixtures.vector(r.nextLong(), DIMENSION), e.getCategory(),
                        e.getTags(), base - 10_000);
                items.add(v2);
                v2ById.put(e.getItemId(), v2);
            }
        }
        lateItem = Fixtures.item("late-item", "v1", Fixtures.vector(r.nextLong(), DIMENSION), "cat-late", List.of("tag-late"), base);
        ActionType[] types = {ActionType.VIEW, ActionType.CLICK, ActionType.LIKE, ActionType.SHARE, ActionType.DISLIKE,
                ActionType.PURCHASE, ActionType.COMPLETE, ActionType.RATE};
        long t = base;
        for (int i = 0; i < actionsCount; i++) {
            t += 1 + r.nextInt(3000);
            String user = "user-" + r.nextInt(users);
            // Every seventh action is late by up to ten minutes; times stay distinct per user.
            long eventTime = i % 7 == 6 ? t - r.nextInt(600_000) : t;
            String item = i % 50 == 25 ? lateItem.getItemId() : "item-" + r.nextInt(itemsCount);
            actions.add(Fixtures.action(user, item, types[r.nextInt(types.length)], 0.5 + r.nextInt(10) / 2.0, eventTime));
        }
        // distinct event times per user, so the reference's tie-break never depends on arrival order across subtasks
        Map<String, Set<Long>> seen = new HashMap<>();
        for (UserAction a : actions) {
            while (!seen.computeIfAbsent(a.getUserId(), k -> new HashSet<>()).add(a.getEventTime())) {
                a.setEventTime(a.getEventTime() + 1);
            }
        }
    }

    /**
     * Items first (except the late one), then, once the job has checkpointed them (so every action sees all versions
     * of its item, as the reference assumes), the actions, then the late item.
     */
    void produceAll(KafkaTestIO kafka, String prefix) throws Exception {
        produceItems(kafka, prefix);
        awaitItemsIngested(kafka, prefix);
        produceActions(kafka, prefix, actions);
        produceLateItem(kafka, prefix);
    }

    static void awaitItemsIngested(KafkaTestIO kafka, String prefix) throws Exception {
        assertThat(TopicAdmin.awaitCommittedToEnd(kafka.bootstrapServers(), prefix + FeatureJob.NAME,
                Topic.ITEM_EMBEDDINGS.name(prefix), Duration.ofMinutes(2))).as("feature-job ingested the items").isTrue();
    }

    void produceItems(KafkaTestIO kafka, String prefix) {
        kafka.produceAll(Topic.ITEM_EMBEDDINGS.name(prefix), items, ItemEmbedding::getItemId, ItemEmbedding::getEventTime);
    }

    void produceLateItem(KafkaTestIO kafka, String prefix) {
        kafka.produce(Topic.ITEM_EMBEDDINGS.name(prefix), lateItem.getItemId(), lateItem, lateItem.getEventTime());
    }

    static void produceActions(KafkaTestIO kafka, String prefix, List<UserAction> actions) {
        kafka.produceAll(Topic.USER_ACTIONS.name(prefix), actions, UserAction::getUserId, UserAction::getEventTime);
    }

    /**
     * Produces a replay of history: the Kafka timestamp is the time of production, the event time stays in the record.
     * (Kafka timestamps years in the past would be deleted at once by the topic's time-based retention.)
     */
    static void replayActions(KafkaTestIO kafka, String prefix, List<UserAction> actions) {
        kafka.produceAll(Topic.USER_ACTIONS.name(prefix), actions, UserAction::getUserId);
    }

    /** The expected features of every user after all actions, computed from scratch. */
    Map<String, ReferenceFeatures> expected(FeatureParams params) {
        Map<String, List<ReferenceFeatures.Applied>> byUser = new LinkedHashMap<>();
        for (UserAction a : actions) {
            ItemEmbedding item = a.getItemId().equals(lateItem.getItemId()) ? lateItem : itemById.get(a.getItemId());
            Map<String, List<Float>> vectors = new HashMap<>();
            vectors.put("v1", item.getVector());
            if (v2ById.containsKey(a.getItemId())) {
                vectors.put("v2", v2ById.get(a.getItemId()).getVector());
            }
            byUser.computeIfAbsent(a.getUserId(), k -> new ArrayList<>()).add(new ReferenceFeatures.Applied(a.getEventId(),
                    a.getItemId(), a.getAction(), a.getValue(), a.getEventTime(), item.getCategory(), item.getTags(), vectors));
        }
        Map<String, ReferenceFeatures> out = new LinkedHashMap<>();
        byUser.forEach((u, list) -> out.put(u, new ReferenceFeatures(list, params)));
        return out;
    }

    /** Actions per user: the updateSeq of each user's final features. */
    Map<String, Long> actionsPerUser() {
        Map<String, Long> counts = new HashMap<>();
        actions.forEach(a -> counts.merge(a.getUserId(), 1L, Long::sum));
        return counts;
    }

    /**
     * Reads user-features (read_committed) until every user's last update arrived (its updateSeq equals the user's
     * number of actions), checks that each user's updateSeq strictly increases from record to record (no duplicate,
     * no replay: a micro-batch emits one record per user, so the sequence may jump) and returns each user's latest
     * record.
     */
    static Map<String, UserFeatures> readFinalFeatures(KafkaTestIO kafka, String prefix, Map<String, Long> expectedSeq) {
        List<KafkaTestIO.Received<UserFeatures>> records = readUntilSeq(kafka, prefix, expectedSeq, Duration.ofMinutes(3));
        Map<String, Long> previous = new HashMap<>();
        Map<String, UserFeatures> latest = new HashMap<>();
        for (KafkaTestIO.Received<UserFeatures> r : records) {
            UserFeatures f = r.decoded();
            assertThat(r.key()).isEqualTo(f.getUserId());
            assertThat(f.getUpdateSeq()).as("update sequence of %s: increasing, no duplicate", f.getUserId())
                    .isGreaterThan(previous.getOrDefault(f.getUserId(), 0L));
            previous.put(f.getUserId(), f.getUpdateSeq());
            latest.put(f.getUserId(), f);
        }
        assertThat(previous).as("each user's last updateSeq (= its number of actions)").isEqualTo(expectedSeq);
        return latest;
    }

    /**
     * Reads user-features (read_committed, from the beginning) until the highest updateSeq of each user is the one in
     * {@code expectedSeq}, for exactly those users ({@link #highestSeq}), or the timeout; returns what was read.
     */
    static List<KafkaTestIO.Received<UserFeatures>> readUntilSeq(KafkaTestIO kafka, String prefix,
                                                                  Map<String, Long> expectedSeq, Duration timeout) {
        return KafkaTestIO.consumeUntil(kafka.bootstrapServers(), Topic.USER_FEATURES.name(prefix), UserFeatures.class,
                timeout, read -> highestSeq(read).equals(expectedSeq));
    }

    /** The highest updateSeq of each user in the records. */
    static Map<String, Long> highestSeq(List<KafkaTestIO.Received<UserFeatures>> records) {
        Map<String, Long> reached = new HashMap<>();
        records.forEach(r -> reached.merge(r.decoded().getUserId(), r.decoded().getUpdateSeq(), Math::max));
        return reached;
    }
}
