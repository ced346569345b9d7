package dev.streamrec.feature;

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
import dev.streamrec.avro.ItemStatus;
import dev.streamrec.avro.ModelPhase;
import dev.streamrec.avro.ModelVersion;
import dev.streamrec.avro.UserAction;
import dev.streamrec.schemas.Topic;
import dev.streamrec.testkit.JobInput;
import dev.streamrec.testkit.ReleasedSavepoints;

/**
 * The data set of feature-job's state-compatibility savepoints, generated deterministically (fixed seeds, fixed event
 * times, no wall clock), so the restore test can put exactly the records the savepoint's Kafka offsets refer to back
 * into fresh topics, and compute what the features must be after more input.
 *
 * <p>Before the savepoint: model versions v0 RETIRED, v1 SERVING, v2 LOADING; 300 items with a v1 vector, every
 * second one also v2, every tenth also v0 (a retired version: its vectors must never reach a user); 3,000 actions of
 * 270 users (u0..u269). After the restore: 30 new items, newer v1 vectors for items 1..10, one stale (older) update
 * that must be ignored, and 1,200 actions of users u100..u299 (u0..u99 acted only before the savepoint; u270..u299
 * are new).
 *
 * <p>Never change what an existing {@link #DATA_VERSION} generates: released savepoints refer to it (the restore test
 * checks the {@link #fingerprint()} recorded with each). A different data set is a new data version, generated beside
 * this one.
 */
final class FeatureCompatData {
    static final int DATA_VERSION = 1;
    private static final int DIMENSION = 8;
    static final int PARTITIONS = 2;
    static final int PARALLELISM = 2;
    /** Event times are fixed (2026-11-18), not taken from the clock: every regeneration is identical. */
    private static final long BASE = 1_795_000_000_000L;
    /**
     * The wall-clock lifetimes (user TTL, deleted-item retention) are set to a century: a savepoint restored months
     * after it was taken must not see every user expire at once (which would be correct behaviour, tested elsewhere).
     */
    private static final long CENTURY_MS = 100L * 365 * 24 * 3600 * 1000;

    private static final int ITEMS = 300;
    private static final int NEW_ITEMS = 30;
    private static final int USERS_BEFORE = 270;
    private static final int FIRST_USER_AFTER = 100;
    static final int USERS = 300;
    private static final int ACTIONS_BEFORE = 3000;
    private static final int ACTIONS_AFTER = 1200;

    private static final ActionType[] TYPES = {ActionType.VIEW, ActionType.CLICK, ActionType.LIKE, ActionType.SHARE,
            ActionType.DISLIKE, ActionType.PURCHASE, ActionType.COMPLETE, ActionType.RATE};

    final List<ModelVersion> modelVersions = List.of(
            new ModelVersion("v0", ModelPhase.RETIRED, null, null, BASE - 300_000),
            new ModelVersion("v1", ModelPhase.SERVING, null, null, BASE - 200_000),
            new ModelVersion("v2", ModelPhase.LOADING, null, null, BASE - 100_000));
    final List<ItemEmbedding> itemsBefore = new ArrayList<>();
    final List<UserAction> actionsBefore = new ArrayList<>();
    final List<ItemEmbedding> itemsAfter = new ArrayList<>();
    final List<UserAction> actionsAfter = new ArrayList<>();

    FeatureCompatData() {
        for (int i = 0; i < ITEMS; i++) {
            itemsBefore.add(item(i, "v1", 1, BASE - 10_000));
            if (i % 2 == 0) {
                itemsBefore.add(item(i, "v2", 1, BASE - 10_000));
            }
            if (i % 10 == 0) {
                itemsBefore.add(item(i, "v0", 1, BASE - 10_000));
            }
        }
        actions(new Random(1201), "b", 0, USERS_BEFORE, ITEMS, ACTIONS_BEFORE, BASE, actionsBefore);

        long after = actionsBefore.stream().mapToLong(UserAction::getEventTime).max().orElseThrow() + 60_000;
        for (int i = ITEMS; i < ITEMS + NEW_ITEMS; i++) {
            itemsAfter.add(item(i, "v1", 1, after - 5_000));
            if (i % 2 == 0) {
                itemsAfter.add(item(i, "v2", 1, after - 5_000));
            }
        }
        for (int i = 1; i <= 10; i++) {
            itemsAfter.add(item(i, "v1", 2, after - 5_000)); // newer vectors
        }
        itemsAfter.add(item(11, "v1", 3, BASE - 86_400_000L)); // older than the item's vector: ignored
        actions(new Random(1202), "a", FIRST_USER_AFTER, USERS, ITEMS + NEW_ITEMS, ACTIONS_AFTER, after, actionsAfter);

        // distinct event times per user, so the reference's trigger order never depends on arrival order
        Map<String, Set<Long>> seen = new HashMap<>();
        for (List<UserAction> list : List.of(actionsBefore, actionsAfter)) {
            for (UserAction a : list) {
                while (!seen.computeIfAbsent(a.getUserId(), k -> new HashSet<>()).add(a.getEventTime())) {
                    a.setEventTime(a.getEventTime() + 1);
                }
            }
        }
    }

    private static ItemEmbedding item(int i, String version, int round, long eventTime) {
        Random r = new Random(version.hashCode() * 1_000_003L + i * 7919L + round);
        List<Float> v = new ArrayList<>(DIMENSION);
        for (int d = 0; d < DIMENSION; d++) {
            v.add((float) r.nextGaussian());
        }
        return new ItemEmbedding("item-" + i, version, v, "cat-" + (i % 7), List.of("tag-" + (i % 5), "tag-x" + (i % 11)),
                ItemStatus.ACTIVE, eventTime);
    }

    /** Every user of [firstUser, users) acts first once in turn, then at random; every seventh action is late. */
    private static void actions(Random r, String idPrefix, int firstUser, int users, int items, int count, long start,
                                List<UserAction> out) {
        long t = start;
        for (int i = 0; i < count; i++) {
            t += 1 + r.nextInt(3000);
            int u = i < users - firstUser ? firstUser + i : firstUser + r.nextInt(users - firstUser);
            long eventTime = i % 7 == 6 ? t - r.nextInt(600_000) : t;
            out.add(new UserAction(idPrefix + "-" + i, "u" + u, "item-" + r.nextInt(items), TYPES[r.nextInt(TYPES.length)],
                    0.5 + r.nextInt(10) / 2.0, eventTime, null));
        }
    }

    static String[] jobArgs(String bootstrap, String prefix) {
        return new String[] {"--bootstrap.servers", bootstrap, "--topic.prefix", prefix,
                "--parallelism", String.valueOf(PARALLELISM), "--checkpoint.interval.ms", "500",
                "--features.vector-dimension", String.valueOf(DIMENSION), "--source.starting-offsets", "earliest",
                "--features.user-ttl.ms", String.valueOf(CENTURY_MS),
                "--features.deleted-item-retention.ms", String.valueOf(CENTURY_MS)};
    }

    static List<String> inputTopics(String prefix) {
        return List.of(Topic.MODEL_VERSIONS.name(prefix), Topic.ITEM_EMBEDDINGS.name(prefix), Topic.USER_ACTIONS.name(prefix));
    }

    /**
     * Produces everything the savepoint has read, in the order it was generated (each partition gets the same records
     * at the same offsets). With {@code awaitJob}, waits after model versions and after items until the running
     * feature-job has checkpointed them, as the generator does: every action then sees its item and the phases.
     */
    void produceBefore(JobInput input, boolean awaitJob) throws Exception {
        input.produce(Topic.MODEL_VERSIONS, modelVersions, ModelVersion::getVersion, awaitJob);
        input.produce(Topic.ITEM_EMBEDDINGS, itemsBefore, ItemEmbedding::getItemId, awaitJob);
        input.produce(Topic.USER_ACTIONS, actionsBefore, UserAction::getUserId);
    }

    /** Actions per user: before the savepoint only, or before and after. */
    Map<String, Long> actionCounts(boolean withAfter) {
        Map<String, Long> counts = new LinkedHashMap<>();
        actionsBefore.forEach(a -> counts.merge(a.getUserId(), 1L, Long::sum));
        if (withAfter) {
            actionsAfter.forEach(a -> counts.merge(a.getUserId(), 1L, Long::sum));
        }
        return counts;
    }

    /**
     * The expected features of every user, computed from scratch by {@link ReferenceFeatures} over the actions before
     * the savepoint, or over all actions: each action with its item as it was then (latest vector per version by
     * event time; v0 is retired, so it never counts).
     */
    Map<String, ReferenceFeatures> expected(FeatureParams params, boolean withAfter) {
        Map<String, Map<String, ItemEmbedding>> items = new HashMap<>();
        Map<String, List<ReferenceFeatures.Applied>> byUser = new LinkedHashMap<>();
        apply(items, itemsBefore);
        addApplied(byUser, actionsBefore, items);
        if (withAfter) {
            apply(items, itemsAfter);
            addApplied(byUser, actionsAfter, items);
        }
        Map<String, ReferenceFeatures> out = new LinkedHashMap<>();
        byUser.forEach((user, applied) -> out.put(user, new ReferenceFeatures(applied, params)));
        return out;
    }

    private static void apply(Map<String, Map<String, ItemEmbedding>> items, List<ItemEmbedding> events) {
        for (ItemEmbedding e : events) {
            items.computeIfAbsent(e.getItemId(), k -> new HashMap<>())
                    .merge(e.getModelVersion(), e, (known, next) -> next.getEventTime() >= known.getEventTime() ? next : known);
        }
    }

    private static void addApplied(Map<String, List<ReferenceFeatures.Applied>> byUser, List<UserAction> actions,
                                   Map<String, Map<String, ItemEmbedding>> items) {
        for (UserAction a : actions) {
            Map<String, ItemEmbedding> item = items.get(a.getItemId());
            Map<String, List<Float>> vectors = new HashMap<>();
            item.forEach((version, e) -> {
                if (!version.equals("v0")) {
                    vectors.put(version, e.getVector());
                }
            });
            ItemEmbedding v1 = item.get("v1");
            byUser.computeIfAbsent(a.getUserId(), k -> new ArrayList<>()).add(new ReferenceFeatures.Applied(a.getEventId(),
                    a.getItemId(), a.getAction(), a.getValue(), a.getEventTime(), v1.getCategory(), v1.getTags(), vectors));
        }
    }

    /**
     * A digest of the data before the savepoint, from the generator's own values (not from Avro's encoding, which may
     * gain fields): the restore test checks it equals the one recorded with the savepoint.
     */
    String fingerprint() {
        StringBuilder s = new StringBuilder();
        modelVersions.forEach(m -> s.append(m.getVersion()).append('|').append(m.getPhase()).append('|').append(m.getEventTime()).append('\n'));
        for (ItemEmbedding e : itemsBefore) {
            s.append(e.getItemId()).append('|').append(e.getModelVersion()).append('|').append(e.getCategory()).append('|')
                    .append(e.getTags()).append('|').append(e.getStatus()).append('|').append(e.getEventTime());
            e.getVector().forEach(f -> s.append('|').append(Integer.toHexString(Float.floatToIntBits(f))));
            s.append('\n');
        }
        actionsBefore.forEach(a -> s.append(a.getEventId()).append('|').append(a.getUserId()).append('|').append(a.getItemId())
                .append('|').append(a.getAction()).append('|').append(a.getValue()).append('|').append(a.getEventTime()).append('\n'));
        return ReleasedSavepoints.fingerprint(s);
    }
}
