package dev.streamrec.index;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;

import dev.streamrec.avro.ActionType;
import dev.streamrec.avro.Candidate;
import dev.streamrec.avro.ItemEmbedding;
import dev.streamrec.avro.ItemStatus;
import dev.streamrec.avro.ModelPhase;
import dev.streamrec.avro.ModelVersion;
import dev.streamrec.avro.RecallResult;
import dev.streamrec.avro.Trigger;
import dev.streamrec.avro.UserFeatures;
import dev.streamrec.avro.UserVector;
import dev.streamrec.schemas.Topic;
import dev.streamrec.testkit.JobInput;
import dev.streamrec.testkit.KafkaTestIO;
import dev.streamrec.testkit.ReleasedSavepoints;

/**
 * The data set of index-job's state-compatibility savepoints, generated deterministically (fixed seeds and event
 * times, no wall clock; vectors from {@link Random} alone, not from code that may change), with the independent
 * expected recall. index-job is fed user-features records directly (not through feature-job, whose transactional
 * output would not land at the same offsets twice).
 *
 * <p>The savepoint is made in two runs of the job, so that it holds each way a shard's index comes back:
 * <ol>
 *   <li>run A ({@code index.snapshot-interval.ms} 1 s): v1 SERVING; 300 items with v1 vectors in 20 clusters, 15 of
 *       them deleted; the generator waits until every shard has written its HNSW snapshot ({@code snapshotCurrent}),
 *       then stops with a savepoint;</li>
 *   <li>run B, restored from A, with snapshots every 24 h (so none is written before the final savepoint): v2 LOADING
 *       and v2 vectors of every item (the deleted ones stay deleted: their v2 events are older than the delete); newer
 *       v1 vectors for 6 items, 4 more deletes, 20 new items (v1 and v2); features of 200 users (v1 vectors, v2 for
 *       the even ones, 4 triggers each). Every user's recall (on v1) is published, then the job stops with the
 *       savepoint that is released.</li>
 * </ol>
 * Restoring it therefore loads v1 from its snapshot and reconciles it with the items changed since (upserts and
 * deletes), and rebuilds v2, which has no snapshot, from the items (each shard logs "1 from snapshot, 1 rebuilt, N
 * entries reconciled"). The shards' maintenance timers in the savepoint are due 24 h after it was taken: in a restore
 * later than that they fire at once, load the shards the same way and write new snapshots.
 *
 * <p>After the restore (the test): newer v1 and v2 vectors for 8 items, 4 deletes, a stale update (ignored), 20 new
 * items, v2 SERVING, and new features for users u0..u119 (even ones with a v2 vector: their recall moves to v2, the
 * odd ones stay on v1) and new users u200..u219.
 *
 * <p>{@code model.initial-serving-version} is v2 throughout: recall is on v1 only because the v1 SERVING event is in
 * broadcast state, so a restore that lost it would show (recall on v2). Never change what an existing
 * {@link #DATA_VERSION} generates: released savepoints refer to it (the restore test checks the fingerprint).
 */
final class IndexCompatData {
    static final int DATA_VERSION = 1;
    private static final int DIMENSION = 16;
    static final int PARTITIONS = 2;
    static final int PARALLELISM = 2;
    static final int SHARDS = 4;
    private static final int K = 20;
    private static final int I2I_TRIGGERS = 3;
    private static final int I2I_PER_TRIGGER = 10;
    /** Snapshot interval of run A: every shard writes its snapshot soon after its items arrived. */
    static final long FIRST_SNAPSHOT_INTERVAL_MS = 1_000;
    /** Snapshot interval of run B and after the restore: no snapshot before the savepoint is taken. */
    static final long SNAPSHOT_INTERVAL_MS = 24L * 3600 * 1000;
    private static final long BASE = 1_795_000_000_000L;
    /** Wall-clock lifetimes (recall TTL, tombstone retention) of a century: an old savepoint must not expire at restore. */
    private static final long CENTURY_MS = 100L * 365 * 24 * 3600 * 1000;

    private static final int CLUSTERS = 20;
    private static final int ITEMS = 300;
    static final int USERS = 200;
    static final int UPDATED_USERS = 120;
    private static final int NEW_USERS = 20;

    final List<ModelVersion> versionsA = new ArrayList<>();
    final List<ItemEmbedding> itemsA = new ArrayList<>();
    final List<ModelVersion> versionsB = new ArrayList<>();
    final List<ItemEmbedding> itemsB = new ArrayList<>();
    final List<UserFeatures> featuresB = new ArrayList<>();
    final List<ItemEmbedding> itemsAfter = new ArrayList<>();
    final List<ModelVersion> versionsAfter = new ArrayList<>();
    final List<UserFeatures> featuresAfter = new ArrayList<>();

    IndexCompatData() {
        versionsA.add(new ModelVersion("v1", ModelPhase.SERVING, null, null, BASE - 200_000));
        for (int i = 0; i < ITEMS; i++) {
            itemsA.add(item(i, "v1", 1, BASE));
        }
        for (int i = 7; i < ITEMS; i += 20) {
            itemsA.add(deleted(i, BASE + 1_000));
        }

        versionsB.add(new ModelVersion("v2", ModelPhase.LOADING, null, null, BASE - 100_000));
        for (int i = 0; i < ITEMS; i++) {
            itemsB.add(item(i, "v2", 1, BASE));
        }
        for (int i = 1; i <= 6; i++) {
            itemsB.add(item(i, "v1", 2, BASE + 10_000));
        }
        for (int i = 8; i <= 11; i++) {
            itemsB.add(deleted(i, BASE + 10_000));
        }
        for (int i = ITEMS; i < ITEMS + 20; i++) {
            itemsB.add(item(i, "v1", 1, BASE + 10_000));
            itemsB.add(item(i, "v2", 1, BASE + 10_000));
        }
        for (int u = 0; u < USERS; u++) {
            featuresB.add(features(u, 1, u % 2 == 0, ITEMS + 20, BASE + 20_000));
        }

        for (int i = 12; i <= 19; i++) {
            itemsAfter.add(item(i, "v1", 3, BASE + 100_000));
            itemsAfter.add(item(i, "v2", 3, BASE + 100_000));
        }
        for (int i = 21; i <= 24; i++) {
            itemsAfter.add(deleted(i, BASE + 100_000));
        }
        itemsAfter.add(item(25, "v1", 4, BASE - 5_000)); // older than item 25's vector: ignored
        for (int i = ITEMS + 20; i < ITEMS + 40; i++) {
            itemsAfter.add(item(i, "v1", 1, BASE + 100_000));
            itemsAfter.add(item(i, "v2", 1, BASE + 100_000));
        }
        versionsAfter.add(new ModelVersion("v2", ModelPhase.SERVING, null, null, BASE + 100_000));
        for (int u = 0; u < UPDATED_USERS; u++) {
            featuresAfter.add(features(u, 2, u % 2 == 0, ITEMS + 40, BASE + 200_000));
        }
        for (int u = USERS; u < USERS + NEW_USERS; u++) {
            featuresAfter.add(features(u, 2, u % 2 == 0, ITEMS + 40, BASE + 200_000));
        }
    }

    static String itemId(int i) {
        return "item-" + i;
    }

    private static float[] center(String version, int cluster) {
        Random r = new Random(version.hashCode() * 1_000_003L + cluster);
        float[] c = new float[DIMENSION];
        for (int d = 0; d < DIMENSION; d++) {
            c[d] = (float) r.nextGaussian();
        }
        return c;
    }

    private static float[] near(float[] center, double spread, Random r) {
        float[] v = new float[DIMENSION];
        for (int d = 0; d < DIMENSION; d++) {
            v[d] = (float) (center[d] + spread * r.nextGaussian());
        }
        return v;
    }

    private static ItemEmbedding item(int i, String version, int round, long eventTime) {
        Random r = new Random(version.hashCode() * 7_919L + i * 104_729L + round);
        float[] v = near(center(version, (i + round) % CLUSTERS), 0.3, r);
        return new ItemEmbedding(itemId(i), version, list(v), "c" + (i % 5), List.of("t" + (i % 3)), ItemStatus.ACTIVE, eventTime);
    }

    private static ItemEmbedding deleted(int i, long eventTime) {
        return new ItemEmbedding(itemId(i), "v1", List.of(), null, List.of(), ItemStatus.DELETED, eventTime);
    }

    /** A user's features as feature-job would publish them: unit vectors near a cluster, 4 triggers newest first. */
    private static UserFeatures features(int u, int round, boolean withV2, int items, long time) {
        Random r = new Random(u * 31L + round * 1_000_003L);
        long last = time + u * 10L;
        List<UserVector> vectors = new ArrayList<>();
        vectors.add(new UserVector("v1", list(unit(near(center("v1", r.nextInt(CLUSTERS)), 0.5, r))), 1.0, last));
        if (withV2) {
            vectors.add(new UserVector("v2", list(unit(near(center("v2", r.nextInt(CLUSTERS)), 0.5, r))), 1.0, last));
        }
        ActionType[] actions = {ActionType.LIKE, ActionType.DISLIKE, ActionType.CLICK, ActionType.VIEW};
        double[] weights = {4.0, -4.0, 2.0, 1.0};
        List<Trigger> triggers = new ArrayList<>();
        for (int t = 0; t < actions.length; t++) {
            triggers.add(new Trigger(itemId(r.nextInt(items)), actions[t], weights[t], last - t * 1_000L));
        }
        return UserFeatures.newBuilder()
                .setUserId("u" + u).setUpdateSeq(4L * round + 1).setLastEventId("f-" + u + "-" + round)
                .setLastEventTime(last).setUpdatedAt(last).setTriggers(triggers).setVectors(vectors)
                .setTotalActions(4L * round + 1)
                .build();
    }

    private static List<Float> list(float[] v) {
        List<Float> l = new ArrayList<>(v.length);
        for (float f : v) {
            l.add(f);
        }
        return l;
    }

    private static float[] unit(float[] v) {
        double n = 0;
        for (float f : v) {
            n += f * f;
        }
        float[] u = new float[v.length];
        for (int i = 0; i < v.length; i++) {
            u[i] = (float) (v[i] / Math.sqrt(n));
        }
        return u;
    }

    static String[] jobArgs(String bootstrap, String prefix, long snapshotIntervalMs) {
        return new String[] {"--bootstrap.servers", bootstrap, "--topic.prefix", prefix,
                "--parallelism", String.valueOf(PARALLELISM), "--checkpoint.interval.ms", "500",
                "--index.vector-dimension", String.valueOf(DIMENSION), "--index.shards", String.valueOf(SHARDS),
                "--index.snapshot-interval.ms", String.valueOf(snapshotIntervalMs),
                "--index.deleted-item-retention.ms", String.valueOf(CENTURY_MS),
                "--recall.k", String.valueOf(K), "--recall.i2i-triggers", String.valueOf(I2I_TRIGGERS),
                "--recall.i2i-per-trigger", String.valueOf(I2I_PER_TRIGGER), "--recall.debounce.ms", "300",
                "--recall.user-ttl.ms", String.valueOf(CENTURY_MS), "--model.initial-serving-version", "v2",
                "--source.starting-offsets", "earliest"};
    }

    static List<String> inputTopics(String prefix) {
        return List.of(Topic.MODEL_VERSIONS.name(prefix), Topic.ITEM_EMBEDDINGS.name(prefix), Topic.USER_FEATURES.name(prefix));
    }

    /** Run A's records; with {@code awaitJob}, waits until the running index-job has checkpointed each topic's. */
    void produceA(JobInput input, boolean awaitJob) throws Exception {
        input.produce(Topic.MODEL_VERSIONS, versionsA, ModelVersion::getVersion, awaitJob);
        input.produce(Topic.ITEM_EMBEDDINGS, itemsA, ItemEmbedding::getItemId, awaitJob);
    }

    /** Run B's records, after run A's (the same order as when generated: the same records at the same offsets). */
    void produceB(JobInput input, boolean awaitJob) throws Exception {
        input.produce(Topic.MODEL_VERSIONS, versionsB, ModelVersion::getVersion, awaitJob);
        input.produce(Topic.ITEM_EMBEDDINGS, itemsB, ItemEmbedding::getItemId, awaitJob);
        input.produce(Topic.USER_FEATURES, featuresB, UserFeatures::getUserId);
    }

    /**
     * Reads the recall topic (read_committed) until each user's latest result reflects its features
     * (sourceEventTime = lastEventTime), checks no record is there twice, and returns each user's latest result.
     */
    static Map<String, RecallResult> readRecall(KafkaTestIO kafka, String prefix, List<UserFeatures> features) {
        Map<String, Long> expected = new HashMap<>();
        features.forEach(f -> expected.put(f.getUserId(), f.getLastEventTime()));
        List<KafkaTestIO.Received<RecallResult>> read = KafkaTestIO.consumeUntil(kafka.bootstrapServers(),
                Topic.RECALL.name(prefix), RecallResult.class, Duration.ofMinutes(5),
                records -> reached(latest(records), expected));
        Map<String, RecallResult> latest = latest(read);
        assertThat(reached(latest, expected)).as("every user's recall reflects its features (waited 5 minutes): %s",
                latest.keySet().size() + " of " + expected.size() + " users have a result").isTrue();
        Set<String> distinct = new HashSet<>();
        for (KafkaTestIO.Received<RecallResult> r : read) {
            assertThat(r.key()).isEqualTo(r.decoded().getUserId());
            assertThat(distinct.add(r.decoded().toString())).as("duplicate recall record of %s", r.key()).isTrue();
        }
        return latest;
    }

    private static boolean reached(Map<String, RecallResult> latest, Map<String, Long> expected) {
        return expected.entrySet().stream().allMatch(e -> latest.containsKey(e.getKey())
                && latest.get(e.getKey()).getSourceEventTime() == e.getValue());
    }

    private static Map<String, RecallResult> latest(List<KafkaTestIO.Received<RecallResult>> records) {
        Map<String, RecallResult> latest = new HashMap<>();
        for (KafkaTestIO.Received<RecallResult> r : records) {
            latest.merge(r.decoded().getUserId(), r.decoded(), (a, b) -> b.getComputedAt() >= a.getComputedAt() ? b : a);
        }
        return latest;
    }

    // ------------------------------------------------------------------ the reference

    /** The items as the job must hold them, by the documented rules (event time decides; a delete removes every version not newer). */
    static final class Items {
        private final Map<String, Map<String, float[]>> vectors = new HashMap<>();
        private final Map<String, Map<String, Long>> times = new HashMap<>();
        private final Map<String, Long> deletedAt = new HashMap<>();

        Items apply(List<ItemEmbedding> events) {
            for (ItemEmbedding e : events) {
                String id = e.getItemId();
                long t = e.getEventTime();
                Map<String, float[]> v = vectors.computeIfAbsent(id, k -> new HashMap<>());
                Map<String, Long> vt = times.computeIfAbsent(id, k -> new HashMap<>());
                long deleted = deletedAt.getOrDefault(id, Long.MIN_VALUE);
                if (e.getStatus() == ItemStatus.DELETED) {
                    if (t > deleted) {
                        vt.entrySet().removeIf(x -> {
                            boolean gone = x.getValue() <= t;
                            if (gone) {
                                v.remove(x.getKey());
                            }
                            return gone;
                        });
                        deletedAt.put(id, t);
                    }
                } else if (t > deleted && vt.getOrDefault(e.getModelVersion(), Long.MIN_VALUE) <= t) {
                    float[] x = new float[e.getVector().size()];
                    for (int d = 0; d < x.length; d++) {
                        x[d] = e.getVector().get(d);
                    }
                    v.put(e.getModelVersion(), unit(x));
                    vt.put(e.getModelVersion(), t);
                }
            }
            return this;
        }

        float[] vector(String itemId, String version) {
            return vectors.getOrDefault(itemId, Map.of()).get(version);
        }

        /** Exact top-k by cosine over the live items of a version, best first (ties by id). */
        List<Candidate> top(float[] query, String version, int k, Set<String> excluded, String channel) {
            float[] q = unit(query);
            List<Candidate> all = new ArrayList<>();
            vectors.forEach((id, v) -> {
                float[] x = v.get(version);
                if (x != null && !excluded.contains(id)) {
                    double dot = 0;
                    for (int d = 0; d < q.length; d++) {
                        dot += (double) q[d] * x[d];
                    }
                    all.add(new Candidate(id, dot, channel));
                }
            });
            all.sort(Comparator.comparingDouble(Candidate::getScore).reversed().thenComparing(Candidate::getItemId));
            return new ArrayList<>(all.subList(0, Math.min(k, all.size())));
        }
    }

    /** The items the job holds when the savepoint is taken. */
    Items itemsAtSavepoint() {
        return new Items().apply(itemsA).apply(itemsB);
    }

    /** The items after the test's post-restore changes. */
    Items itemsAfterRestore() {
        return itemsAtSavepoint().apply(itemsAfter);
    }

    /**
     * The recall the job must compute for these features on this version, from exact search: u2i = the top K items by
     * the user's vector; i2i = for each of the newest {@value #I2I_TRIGGERS} distinct positively weighted triggers that
     * has a live vector, its top {@value #I2I_PER_TRIGGER} neighbours other than the user's trigger items, the lists
     * taken in turn by rank; then u2i and i2i in turn, each item once, up to K.
     */
    static List<Candidate> expectedRecall(UserFeatures f, String version, Items items) {
        float[] user = null;
        for (UserVector v : f.getVectors()) {
            if (v.getModelVersion().equals(version)) {
                user = new float[v.getVector().size()];
                for (int d = 0; d < user.length; d++) {
                    user[d] = v.getVector().get(d);
                }
            }
        }
        List<Candidate> u2i = user == null ? List.of() : items.top(user, version, K, Set.of(), RecallMerge.U2I);
        Set<String> excluded = new LinkedHashSet<>();
        List<String> seeds = new ArrayList<>();
        for (Trigger t : f.getTriggers()) {
            excluded.add(t.getItemId());
            if (t.getWeight() > 0 && seeds.size() < I2I_TRIGGERS && !seeds.contains(t.getItemId())) {
                seeds.add(t.getItemId());
            }
        }
        List<List<Candidate>> lists = new ArrayList<>();
        for (String seed : seeds) {
            float[] v = items.vector(seed, version);
            if (v != null) {
                List<Candidate> l = items.top(v, version, I2I_PER_TRIGGER, excluded, RecallMerge.I2I);
                if (!l.isEmpty()) {
                    lists.add(l);
                }
            }
        }
        List<Candidate> i2i = new ArrayList<>();
        Set<String> seen = new HashSet<>();
        for (int rank = 0; rank < I2I_PER_TRIGGER; rank++) {
            for (List<Candidate> l : lists) {
                if (rank < l.size() && seen.add(l.get(rank).getItemId())) {
                    i2i.add(l.get(rank));
                }
            }
        }
        List<Candidate> out = new ArrayList<>();
        Set<String> taken = new HashSet<>();
        int u = 0;
        int i = 0;
        while (out.size() < K && (u < u2i.size() || i < i2i.size())) {
            if (u < u2i.size() && taken.add(u2i.get(u).getItemId())) {
                out.add(u2i.get(u));
            }
            u++;
            if (out.size() < K && i < i2i.size() && taken.add(i2i.get(i).getItemId())) {
                out.add(i2i.get(i));
            }
            i++;
        }
        return out;
    }

    /**
     * Asserts the job's recall equals the expected one: same version, same candidates in the same order with the same
     * channels and scores (within float rounding). Two candidates whose exact scores differ by less than the rounding
     * may come in either order.
     */
    static void assertRecall(RecallResult actual, String version, List<Candidate> expected, String what) {
        assertThat(actual).as("%s: a recall result", what).isNotNull();
        assertThat(actual.getModelVersion()).as("%s: model version", what).isEqualTo(version);
        List<Candidate> got = actual.getCandidates();
        assertThat(got).as("%s: candidates", what).hasSameSizeAs(expected);
        Map<String, Candidate> byId = new LinkedHashMap<>();
        expected.forEach(c -> byId.put(c.getItemId(), c));
        for (int p = 0; p < got.size(); p++) {
            Candidate g = got.get(p);
            Candidate e = expected.get(p);
            String at = what + ": candidate " + p + " (" + g + ", expected " + e + ")";
            assertThat(g.getChannel()).as(at).isEqualTo(e.getChannel());
            assertThat(g.getScore()).as(at).isCloseTo(e.getScore(), within(1e-4));
            if (!g.getItemId().equals(e.getItemId())) {
                Candidate tie = byId.get(g.getItemId());
                assertThat(tie).as(at + ": not an expected candidate").isNotNull();
                assertThat(tie.getScore()).as(at + ": only a tie may change places").isCloseTo(e.getScore(), within(1e-5));
            }
        }
    }

    /** The version a user's recall is on: v1 at the savepoint (v1 SERVING, v2 LOADING); after v2 SERVING, v2 for users with a v2 vector. */
    static String servingVersion(UserFeatures f, boolean v2Serving) {
        boolean hasV2 = f.getVectors().stream().anyMatch(v -> v.getModelVersion().equals("v2"));
        return v2Serving && hasV2 ? "v2" : "v1";
    }

    /** A digest of the data before the savepoint, from the generator's own values (not Avro's encoding, which may gain fields). */
    String fingerprint() {
        StringBuilder s = new StringBuilder();
        for (List<ModelVersion> l : List.of(versionsA, versionsB)) {
            l.forEach(m -> s.append(m.getVersion()).append('|').append(m.getPhase()).append('|').append(m.getEventTime()).append('\n'));
        }
        for (List<ItemEmbedding> l : List.of(itemsA, itemsB)) {
            for (ItemEmbedding e : l) {
                s.append(e.getItemId()).append('|').append(e.getModelVersion()).append('|').append(e.getStatus()).append('|')
                        .append(e.getCategory()).append('|').append(e.getTags()).append('|').append(e.getEventTime());
                e.getVector().forEach(f -> s.append('|').append(Integer.toHexString(Float.floatToIntBits(f))));
                s.append('\n');
            }
        }
        for (UserFeatures f : featuresB) {
            s.append(f.getUserId()).append('|').append(f.getUpdateSeq()).append('|').append(f.getLastEventId()).append('|')
                    .append(f.getLastEventTime()).append('|').append(f.getUpdatedAt()).append('|').append(f.getTotalActions());
            f.getTriggers().forEach(t -> s.append('|').append(t.getItemId()).append(':').append(t.getAction()).append(':')
                    .append(t.getWeight()).append(':').append(t.getEventTime()));
            for (UserVector v : f.getVectors()) {
                s.append('|').append(v.getModelVersion()).append(':').append(v.getMagnitude()).append(':').append(v.getAsOf());
                v.getVector().forEach(x -> s.append(':').append(Integer.toHexString(Float.floatToIntBits(x))));
            }
            s.append('\n');
        }
        return ReleasedSavepoints.fingerprint(s);
    }
}
