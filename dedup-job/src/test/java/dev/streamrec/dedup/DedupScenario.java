package dev.streamrec.dedup;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.UUID;
import java.util.function.Predicate;

import dev.streamrec.avro.ActionType;
import dev.streamrec.avro.Candidate;
import dev.streamrec.avro.Impression;
import dev.streamrec.avro.ItemEmbedding;
import dev.streamrec.avro.ItemStatus;
import dev.streamrec.avro.RecallResult;
import dev.streamrec.avro.UserAction;
import dev.streamrec.feature.FeatureJob;
import dev.streamrec.index.IndexJob;
import dev.streamrec.index.ann.ClusteredVectors;
import dev.streamrec.jobs.config.JobConfig;
import dev.streamrec.schemas.Topic;
import dev.streamrec.testkit.JobInput;
import dev.streamrec.testkit.KafkaTestIO;
import dev.streamrec.testkit.PipelineTestCluster;

/**
 * The three jobs in a row on a real broker and MiniCluster: feature-job and index-job in front of dedup-job, clustered
 * items, users acting on them, impressions of what they were recalled. Event times start an hour before the wall clock.
 */
final class DedupScenario {
    static final int DIMENSION = 16;
    static final int ITEMS = 1500;
    static final int K = 200;
    static final int MIN_FRESH = 100;
    /** A short period, so a test can move event time past it. */
    static final long PERIOD_MS = 10 * 60_000;

    final PipelineTestCluster cluster;
    final KafkaTestIO kafka;
    final String prefix;
    final long base = System.currentTimeMillis() - 3_600_000L;
    final Map<String, Long> lastActionTime = new HashMap<>();
    final Map<String, String> lastActionItem = new HashMap<>();
    private final Random random = new Random(5);
    private long clock = base;
    private int impressionSeq;

    DedupScenario(PipelineTestCluster cluster, KafkaTestIO kafka) {
        this.cluster = cluster;
        this.kafka = kafka;
        this.prefix = cluster.topicPrefix();
    }

    JobConfig featureConfig() {
        return new FeatureJob().parseConfig(common("--features.vector-dimension", String.valueOf(DIMENSION)));
    }

    JobConfig indexConfig() {
        return new IndexJob().parseConfig(common("--index.vector-dimension", String.valueOf(DIMENSION),
                "--index.shards", "2", "--recall.debounce.ms", "300", "--recall.k", String.valueOf(K)));
    }

    JobConfig dedupConfig() {
        return new DedupJob().parseConfig(common("--dedup.period.ms", String.valueOf(PERIOD_MS),
                "--dedup.compact.layer-span.ms", String.valueOf(PERIOD_MS / 5), "--dedup.min-fresh", String.valueOf(MIN_FRESH),
                "--dedup.batch.max-delay.ms", "1000",
                "--watermark.out-of-orderness.ms", "1000", "--watermark.idleness.ms", "2000"));
    }

    DedupSettings dedupSettings() {
        return DedupSettings.from(dedupConfig());
    }

    private String[] common(String... extra) {
        List<String> args = new ArrayList<>(List.of("--bootstrap.servers", cluster.bootstrapServers(),
                "--topic.prefix", prefix, "--parallelism", "1", "--checkpoint.interval.ms", "500",
                "--source.starting-offsets", "earliest"));
        args.addAll(List.of(extra));
        return args.toArray(String[]::new);
    }

    void produceItems() throws Exception {
        ClusteredVectors vectors = new ClusteredVectors(3, DIMENSION, 24, 0.15);
        List<ItemEmbedding> items = new ArrayList<>();
        for (int i = 0; i < ITEMS; i++) {
            float[] v = vectors.vector(i);
            List<Float> list = new ArrayList<>(v.length);
            for (float x : v) {
                list.add(x);
            }
            items.add(new ItemEmbedding(ClusteredVectors.itemId(i), "v1", list, "c", List.of(), ItemStatus.ACTIVE, base - 60_000));
        }
        kafka.produceAll(Topic.ITEM_EMBEDDINGS.name(prefix), items, ItemEmbedding::getItemId);
        new JobInput(kafka, prefix, FeatureJob.NAME).awaitIngested(Topic.ITEM_EMBEDDINGS);
        new JobInput(kafka, prefix, IndexJob.NAME).awaitIngested(Topic.ITEM_EMBEDDINGS);
    }

    /** {@code perUser} actions per user on random items, event time moving forward; returns the latest time. */
    long act(List<String> users, int perUser) {
        List<UserAction> actions = new ArrayList<>();
        for (String user : users) {
            for (int a = 0; a < perUser; a++) {
                String item = ClusteredVectors.itemId(random.nextInt(ITEMS));
                actions.add(new UserAction(UUID.randomUUID().toString(), user, item, ActionType.CLICK, 1.0, tick(), null));
                lastActionTime.put(user, clock);
                lastActionItem.put(user, item);
            }
        }
        kafka.produceAll(Topic.USER_ACTIONS.name(prefix), actions, UserAction::getUserId);
        return clock;
    }

    /** One more action of {@code user} on the item it acted on last, at {@code at}. */
    void actAgain(String user, long at) {
        clock = Math.max(clock, at);
        UserAction a = new UserAction(UUID.randomUUID().toString(), user, lastActionItem.get(user), ActionType.CLICK, 1.0, at, null);
        lastActionTime.put(user, at);
        kafka.produceAll(Topic.USER_ACTIONS.name(prefix), List.of(a), UserAction::getUserId);
    }

    /** Impressions of {@code items} to {@code user}, one a millisecond from {@code at}. */
    void show(String user, List<String> items, long at) {
        List<Impression> impressions = new ArrayList<>();
        for (int i = 0; i < items.size(); i++) {
            impressions.add(FreshRecallFilterTest.impression(user, items.get(i), at + i, "imp-" + (impressionSeq++)));
        }
        clock = Math.max(clock, at + items.size());
        kafka.produceAll(Topic.IMPRESSIONS.name(prefix), impressions, Impression::getUserId);
    }

    long tick() {
        clock += 1 + random.nextInt(500);
        return clock;
    }

    /** Reads {@code topic} until {@code user}'s latest result (by offset) meets {@code ready}; returns it. */
    RecallResult awaitLatest(Topic topic, String user, Predicate<RecallResult> ready, String waitingFor) {
        List<KafkaTestIO.Received<RecallResult>> read = KafkaTestIO.consumeUntil(kafka.bootstrapServers(),
                topic.name(prefix), RecallResult.class, Duration.ofMinutes(3), records -> {
                    RecallResult latest = latest(records, user);
                    return latest != null && ready.test(latest);
                });
        RecallResult latest = latest(read, user);
        assertThat(latest).as("%s on %s within 3 minutes", waitingFor, topic).isNotNull().matches(ready::test, waitingFor);
        return latest;
    }

    static RecallResult latest(List<KafkaTestIO.Received<RecallResult>> records, String user) {
        RecallResult latest = null;
        for (KafkaTestIO.Received<RecallResult> r : records) {
            if (r.decoded().getUserId().equals(user)) {
                latest = r.decoded();
            }
        }
        return latest;
    }

    static List<String> ids(RecallResult r) {
        return r.getCandidates().stream().map(Candidate::getItemId).toList();
    }
}
