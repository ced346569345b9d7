package dev.streamrec.dedup;

import static dev.streamrec.dedup.DedupScenario.ids;
import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.apache.flink.configuration.Configuration;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.core.execution.SavepointFormatType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.RegisterExtension;

import dev.streamrec.avro.RecallRefill;
import dev.streamrec.avro.RecallResult;
import dev.streamrec.avro.SeenSet;
import dev.streamrec.client.FeedRecall;
import dev.streamrec.client.QueryableStateReader;
import dev.streamrec.client.RecallClient;
import dev.streamrec.client.SeenAnswer;
import dev.streamrec.feature.FeatureJob;
import dev.streamrec.index.IndexJob;
import dev.streamrec.jobs.JobSetup;
import dev.streamrec.schemas.QueryableStates;
import dev.streamrec.schemas.Topic;
import dev.streamrec.seen.SeenTracker;
import dev.streamrec.testkit.KafkaTestIO;
import dev.streamrec.testkit.PipelineTestCluster;

/**
 * dedup-job end to end behind feature-job and index-job, on a real Kafka broker and a MiniCluster with RocksDB. What
 * a user was shown leaves their fresh recall (topic, read_committed, and queryable state) and comes back only once the
 * period has passed in event time; a user shown 180 of 200 candidates gets a refill with at least the minimum of
 * unseen candidates from one recompute.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class DedupJobIntegrationTest {
    @RegisterExtension
    static final PipelineTestCluster CLUSTER = new PipelineTestCluster();

    static KafkaTestIO kafka;
    static DedupScenario scenario;
    static JobClient features;
    static JobClient index;
    static JobClient dedup;
    static QueryableStateReader reader;

    @BeforeAll
    static void startPipeline() throws Exception {
        CLUSTER.createPipelineTopics(2);
        kafka = new KafkaTestIO(CLUSTER.bootstrapServers());
        scenario = new DedupScenario(CLUSTER, kafka);
        features = JobSetup.submit(new FeatureJob(), CLUSTER.environment(), scenario.featureConfig());
        index = JobSetup.submit(new IndexJob(), CLUSTER.environment(), scenario.indexConfig());
        dedup = JobSetup.submit(new DedupJob(), CLUSTER.environment(), scenario.dedupConfig());
        for (JobClient job : List.of(features, index, dedup)) {
            CLUSTER.awaitJobRunning(job.getJobID(), Duration.ofMinutes(1));
        }
        scenario.produceItems();
        scenario.act(List.of("user-0", "user-1", "user-2"), 8);
        reader = new QueryableStateReader(CLUSTER.queryableStateClient());
        for (String user : List.of("user-0", "user-1", "user-2")) {
            long last = scenario.lastActionTime.get(user);
            scenario.awaitLatest(Topic.FRESH_RECALL, user, r -> r.getSourceEventTime() == last && r.getCandidates().size() == DedupScenario.K,
                    "a full fresh recall of " + user + " reflecting its last action");
        }
    }

    @AfterAll
    static void stop() throws Exception {
        if (reader != null) {
            reader.close();
        }
        CLUSTER.cancelAllJobs();
        if (kafka != null) {
            kafka.close();
        }
    }

    RecallResult freshFromState(String user, java.util.function.Predicate<RecallResult> ready) throws Exception {
        return reader.lookup(dedup.getJobID(), user, QueryableStates.recall(QueryableStates.FRESH_RECALL), Duration.ofMinutes(2), ready::test);
    }

    /** Polls queryable {@code seen} until the user has none (its expiry timer fired) or the timeout passes. */
    boolean awaitSeenSetCleared(String user, Duration timeout) throws Exception {
        long end = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < end) {
            try {
                if (reader.lookupOnce(dedup.getJobID(), user, QueryableStates.seen(), Duration.ofSeconds(5)) == null) {
                    return true;
                }
            } catch (Exception e) {
                // not reachable yet: retry
            }
            Thread.sleep(100);
        }
        return false;
    }

    @Test
    @Order(1)
    void aUserShown180Of200GetsAtLeastTheMinimumUnseenFromOneRecompute() throws Exception {
        String user = "user-1";
        RecallResult before = freshFromState(user, r -> r.getCandidates().size() == DedupScenario.K);
        List<String> shown = ids(before).subList(0, 180);
        scenario.show(user, shown, scenario.lastActionTime.get(user) + 1000);

        Set<String> seen = new HashSet<>(shown);
        RecallResult refilled = freshFromState(user, r -> r.getCandidates().size() >= DedupScenario.MIN_FRESH
                && r.getComputedAt() > before.getComputedAt());
        assertThat(ids(refilled)).as("refilled fresh recall").hasSizeGreaterThanOrEqualTo(DedupScenario.MIN_FRESH)
                .noneMatch(seen::contains).doesNotHaveDuplicates();

        List<KafkaTestIO.Received<RecallRefill>> refills = KafkaTestIO.consumeUntil(kafka.bootstrapServers(),
                Topic.RECALL_REFILLS.name(scenario.prefix), RecallRefill.class, Duration.ofSeconds(30), r -> !r.isEmpty());
        // One refill (one is in flight per user): it names the shown items that had left the fresh recall when the
        // burst was emitted, at least the 101 that took it below the minimum.
        assertThat(refills).as("one refill").singleElement();
        RecallRefill refill = refills.get(0).decoded();
        Set<String> excluded = new HashSet<>();
        refill.getExcluded().forEach(e -> excluded.add(e.getItemId()));
        assertThat(refill.getUserId()).isEqualTo(user);
        assertThat(excluded).isSubsetOf(seen).hasSizeGreaterThan(DedupScenario.K - DedupScenario.MIN_FRESH);
        assertThat(refill.getFresh()).isLessThan(DedupScenario.MIN_FRESH).isEqualTo(DedupScenario.K - excluded.size());
        // Exactly one recompute answered it: the recall topic holds one more result for the user, without the excluded items.
        List<KafkaTestIO.Received<RecallResult>> recall = KafkaTestIO.consumeUntil(kafka.bootstrapServers(),
                Topic.RECALL.name(scenario.prefix), RecallResult.class, Duration.ofSeconds(30),
                r -> r.stream().anyMatch(x -> x.decoded().getUserId().equals(user) && x.decoded().getComputedAt() > before.getComputedAt()));
        List<RecallResult> recomputed = recall.stream().map(KafkaTestIO.Received::decoded)
                .filter(x -> x.getUserId().equals(user) && x.getComputedAt() > before.getComputedAt()).toList();
        assertThat(recomputed).hasSize(1);
        assertThat(ids(recomputed.get(0))).noneMatch(excluded::contains).hasSize(DedupScenario.K);
        RecallResult onTopic = scenario.awaitLatest(Topic.FRESH_RECALL, user, r -> r.getComputedAt() == recomputed.get(0).getComputedAt(),
                "the refilled fresh recall");
        assertThat(ids(onTopic)).isEqualTo(ids(refilled)).noneMatch(seen::contains);
    }

    @Test
    @Order(3)
    void aShownItemLeavesTheFreshRecallAndComesBackOnlyAfterThePeriod() throws Exception {
        String user = "user-0";
        RecallResult before = freshFromState(user, r -> r.getCandidates().size() == DedupScenario.K);
        List<String> shown = ids(before).subList(0, 5);
        long shownAt = scenario.lastActionTime.get(user) + 1000;
        scenario.show(user, shown, shownAt);

        RecallResult afterImpressions = freshFromState(user, r -> ids(r).stream().noneMatch(shown::contains));
        assertThat(ids(afterImpressions)).hasSize(DedupScenario.K - 5);
        SeenSet seenState = reader.lookup(dedup.getJobID(), user, QueryableStates.seen(), Duration.ofSeconds(30), s -> true);
        SeenTracker seen = SeenTracker.read(seenState);
        for (String item : shown) {
            assertThat(seen.isSeen(item, shownAt + 10)).as("seen %s", item).isTrue();
            assertThat(seen.seenUntil(item)).isGreaterThanOrEqualTo(shownAt + DedupScenario.PERIOD_MS);
        }
        // The feed server's call and the seen question, through the client.
        try (RecallClient client = RecallClient.builder().rest("http://127.0.0.1:" + CLUSTER.restPort())
                .proxy("127.0.0.1", CLUSTER.queryableStateProxyPort()).timeout(Duration.ofSeconds(30)).build()) {
            FeedRecall feed = client.feedRecall(user);
            assertThat(feed.source()).isEqualTo(FeedRecall.Source.FRESH_RECALL);
            assertThat(ids(feed.result())).isEqualTo(ids(afterImpressions));
            assertThat(feed.computedAt()).isEqualTo(before.getComputedAt());
            assertThat(feed.sourceEventTime()).isEqualTo(before.getSourceEventTime());
            SeenAnswer answer = client.seen(user, shown.get(0));
            assertThat(answer.inSet()).isTrue();
            assertThat(answer.seenAt(shownAt)).isTrue();
            assertThat(client.seen(user, "never-shown").inSet()).isFalse();
        }
        RecallResult onTopic = scenario.awaitLatest(Topic.FRESH_RECALL, user, r -> ids(r).stream().noneMatch(shown::contains),
                "the fresh recall without the shown items");
        assertThat(ids(onTopic)).isEqualTo(ids(afterImpressions));

        // A recompute within the period: whatever of the shown items recall still has, fresh recall does not.
        long within = shownAt + 60_000;
        scenario.actAgain(user, within);
        RecallResult recallWithin = scenario.awaitLatest(Topic.RECALL, user, r -> r.getSourceEventTime() == within, "recall of the new action");
        RecallResult freshWithin = scenario.awaitLatest(Topic.FRESH_RECALL, user, r -> r.getSourceEventTime() == within, "fresh recall of it");
        assertThat(ids(recallWithin)).as("recall still has some shown items (else the check says nothing)").containsAnyElementsOf(shown);
        assertThat(ids(freshWithin)).noneMatch(shown::contains);

        // Event time moves past the period (another user's impression), then a recompute: the items are back.
        long after = shownAt + DedupScenario.PERIOD_MS + 3 * FreshRecallFilter.CLEANUP_GRANULARITY_MS;
        scenario.show("user-2", List.of("clock-item"), after);
        assertThat(awaitSeenSetCleared(user, Duration.ofMinutes(2)))
                .as("the user's seen set expired and was cleared within 2 minutes (the watermark passed the period)").isTrue();
        long later = after + 1000;
        scenario.actAgain(user, later);
        RecallResult recallAfter = scenario.awaitLatest(Topic.RECALL, user, r -> r.getSourceEventTime() == later, "recall after the period");
        RecallResult freshAfter = scenario.awaitLatest(Topic.FRESH_RECALL, user, r -> r.getSourceEventTime() == later, "fresh recall after the period");
        List<String> back = shown.stream().filter(ids(recallAfter)::contains).toList();
        assertThat(back).as("shown items recall has again").isNotEmpty();
        assertThat(ids(freshAfter)).containsAll(back).isEqualTo(ids(recallAfter));
    }

    @Test
    @Order(2)
    void seenSetsAndFreshRecallSurviveASavepointWithoutDuplicateOutput() throws Exception {
        Map<String, RecallResult> freshBefore = new HashMap<>();
        Map<String, SeenSet> seenBefore = new HashMap<>();
        for (String user : List.of("user-0", "user-1")) {
            freshBefore.put(user, freshFromState(user, r -> true));
        }
        // user-1 was shown 180 items (the first test); user-0 nothing yet.
        seenBefore.put("user-1", reader.lookup(dedup.getJobID(), "user-1", QueryableStates.seen(), Duration.ofSeconds(30), x -> true));
        assertThat(SeenTracker.read(seenBefore.get("user-1")).size()).isEqualTo(180);
        String savepoint = dedup.stopWithSavepoint(false, CLUSTER.savepointDir().toUri().toString(),
                SavepointFormatType.CANONICAL).get();
        // While it is stopped: user-2 is shown three of its candidates.
        RecallResult user2 = scenario.awaitLatest(Topic.FRESH_RECALL, "user-2", r -> true, "user-2's fresh recall");
        List<String> shown = ids(user2).subList(0, 3);
        long now = scenario.tick();
        scenario.show("user-2", shown, now);

        Configuration restore = new Configuration();
        restore.setString("execution.state-recovery.path", savepoint);
        dedup = JobSetup.submit(new DedupJob(), CLUSTER.environment(restore), scenario.dedupConfig());
        CLUSTER.awaitJobRunning(dedup.getJobID(), Duration.ofMinutes(1));
        for (String user : List.of("user-0", "user-1")) {
            RecallResult restored = freshFromState(user, r -> true);
            assertThat(restored).as("fresh recall of %s after the restore", user).isEqualTo(freshBefore.get(user));
        }
        SeenSet seen = reader.lookup(dedup.getJobID(), "user-1", QueryableStates.seen(), Duration.ofSeconds(30), x -> true);
        assertThat(seen).as("seen set of user-1 after the restore").isEqualTo(seenBefore.get("user-1"));
        RecallResult user2After = freshFromState("user-2", r -> ids(r).stream().noneMatch(shown::contains));
        assertThat(ids(user2After)).hasSize(ids(user2).size() - 3);
        scenario.awaitLatest(Topic.FRESH_RECALL, "user-2", r -> ids(r).equals(ids(user2After)), "user-2's fresh recall after the restore");

        List<RecallResult> all = KafkaTestIO.readToEnd(kafka.bootstrapServers(), Topic.FRESH_RECALL.name(scenario.prefix),
                RecallResult.class, Duration.ofMinutes(1));
        Set<String> distinct = new HashSet<>();
        for (RecallResult r : all) {
            assertThat(distinct.add(r.toString())).as("fresh-recall record of %s at most once", r.getUserId()).isTrue();
        }
        List<RecallRefill> refills = KafkaTestIO.readToEnd(kafka.bootstrapServers(), Topic.RECALL_REFILLS.name(scenario.prefix),
                RecallRefill.class, Duration.ofMinutes(1));
        assertThat(refills).hasSize(1);
    }
}
