package dev.streamrec.dedup;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;

import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.state.rocksdb.EmbeddedRocksDBStateBackend;
import org.apache.flink.runtime.state.VoidNamespace;
import org.apache.flink.runtime.state.VoidNamespaceSerializer;
import org.apache.flink.streaming.api.operators.AbstractStreamOperator;
import org.apache.flink.streaming.api.watermark.Watermark;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.KeyedTwoInputStreamOperatorTestHarness;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import dev.streamrec.avro.Candidate;
import dev.streamrec.avro.Impression;
import dev.streamrec.avro.RecallRefill;
import dev.streamrec.avro.RecallResult;
import dev.streamrec.avro.SeenExclusion;
import dev.streamrec.avro.SeenSet;
import dev.streamrec.schemas.QueryableStates;
import dev.streamrec.seen.SeenPolicy;
import dev.streamrec.seen.SeenPolicy.Representation;
import dev.streamrec.seen.SeenTracker;

/** The fresh-recall filter through Flink's operator test harness, for both seen-set representations. */
class FreshRecallFilterTest {
    static final long DAY = SeenPolicy.DAY_MS;
    static final long T0 = 1_700_000_000_000L;
    static final long PERIOD = 7 * DAY;
    static final long BATCH_DELAY = 50;
    static final long REFILL_TIMEOUT = 30_000;
    static final int MIN_FRESH = 10;

    private KeyedTwoInputStreamOperatorTestHarness<String, Impression, RecallResult, RecallResult> harness;
    private DedupSettings settings;
    private int impressionSeq;

    void start(Representation representation) throws Exception {
        start(representation, SeenPolicy.defaults().maxItems());
    }

    void start(Representation representation, int maxItems) throws Exception {
        SeenPolicy d = SeenPolicy.defaults();
        SeenPolicy policy = new SeenPolicy(representation, PERIOD, maxItems, Math.min(d.hotItems(), maxItems), DAY,
                d.firstLayerCapacity(), d.maxLayers(), d.falsePositiveRate());
        settings = new DedupSettings(policy, MIN_FRESH, REFILL_TIMEOUT, BATCH_DELAY, 5000, 30 * DAY);
        start(settings, null);
    }

    void start(DedupSettings settings, OperatorSubtaskState restoreFrom) throws Exception {
        this.settings = settings;
        harness = new KeyedTwoInputStreamOperatorTestHarness<>(new FreshRecallFilter(settings),
                Impression::getUserId, RecallResult::getUserId, Types.STRING);
        // RocksDB, as in production: every state read decodes a copy, so in-place changes that are not written back fail here.
        harness.setStateBackend(new EmbeddedRocksDBStateBackend());
        harness.setup();
        if (restoreFrom != null) {
            harness.initializeState(restoreFrom);
        }
        harness.open();
        harness.setProcessingTime(1_000);
        // Recall carries no event-time clock in the job (an idle input): the impressions' watermark alone counts.
        harness.processWatermark2(new Watermark(Long.MAX_VALUE));
    }

    @AfterEach
    void tearDown() throws Exception {
        if (harness != null) {
            harness.close();
        }
    }

    static RecallResult recall(String user, long sourceEventTime, int from, int to) {
        List<Candidate> candidates = new ArrayList<>();
        for (int i = from; i < to; i++) {
            candidates.add(new Candidate("i" + i, 1.0 / (i + 1), "u2i"));
        }
        return new RecallResult(user, "v1", candidates, 0L, sourceEventTime);
    }

    Impression impression(String user, String item, long eventTime) {
        return impression(user, item, eventTime, "imp-" + (impressionSeq++));
    }

    static Impression impression(String user, String item, long eventTime, String impressionId) {
        return Impression.newBuilder().setImpressionId(impressionId).setRequestId("req").setUserId(user).setItemId(item)
                .setPosition(0).setRecallChannel("u2i").setModelVersion("v1").setEventTime(eventTime).build();
    }

    /** One impression, applied: its micro-batch is written. */
    void show(Impression impression) throws Exception {
        queue(impression);
        applyBatch();
    }

    /** Adds an impression to the open micro-batch without writing it. */
    void queue(Impression impression) throws Exception {
        harness.processElement1(impression, impression.getEventTime());
    }

    /** Lets the batch delay pass: the open batch is written. */
    void applyBatch() throws Exception {
        harness.setProcessingTime(harness.getProcessingTime() + BATCH_DELAY);
    }

    void watermark(long time) throws Exception {
        harness.processWatermark1(new Watermark(time));
    }

    List<RecallResult> out() {
        List<RecallResult> results = new ArrayList<>();
        for (Object o : harness.getOutput()) {
            if (o instanceof StreamRecord<?> r) {
                results.add((RecallResult) r.getValue());
            }
        }
        return results;
    }

    List<RecallRefill> refills() {
        ConcurrentLinkedQueue<StreamRecord<RecallRefill>> side = harness.getSideOutput(FreshRecallFilter.REFILLS);
        return side == null ? List.of() : side.stream().map(StreamRecord::getValue).toList();
    }

    static List<String> ids(RecallResult r) {
        return r.getCandidates().stream().map(c -> c.getItemId().toString()).toList();
    }

    <T> T state(String user, ValueStateDescriptor<T> descriptor) throws Exception {
        AbstractStreamOperator<?> operator = (AbstractStreamOperator<?>) harness.getOperator();
        operator.setCurrentKey(user);
        return operator.getPartitionedState(VoidNamespace.INSTANCE, VoidNamespaceSerializer.INSTANCE, descriptor).value();
    }

    RecallResult storedFresh(String user) throws Exception {
        return state(user, QueryableStates.recall(QueryableStates.FRESH_RECALL));
    }

    SeenTracker storedSeen(String user) throws Exception {
        SeenSet record = state(user, QueryableStates.seen());
        return SeenTracker.of(record, settings.seen());
    }

    @ParameterizedTest
    @EnumSource(Representation.class)
    void aRecallResultLosesItsSeenCandidates(Representation r) throws Exception {
        start(r);
        show(impression("u1", "i1", T0));
        show(impression("u1", "i3", T0 + 1));
        show(impression("u2", "i2", T0 + 2));
        harness.processElement2(recall("u1", T0 + 5, 0, 30), T0 + 5);
        assertThat(out()).hasSize(1);
        assertThat(ids(out().get(0))).hasSize(28).doesNotContain("i1", "i3").contains("i0", "i2", "i4");
        assertThat(ids(storedFresh("u1"))).isEqualTo(ids(out().get(0)));
        assertThat(refills()).isEmpty();
    }

    @ParameterizedTest
    @EnumSource(Representation.class)
    void aBatchOfImpressionsTakesItsItemsOutOfTheStoredFreshRecallWithOneRecord(Representation r) throws Exception {
        start(r);
        harness.processElement2(recall("u1", T0, 0, 30), T0);
        assertThat(out()).hasSize(1);
        queue(impression("u1", "i4", T0 + 10));
        queue(impression("u1", "i5", T0 + 11));
        queue(impression("u1", "i6", T0 + 12));
        assertThat(ids(storedFresh("u1"))).as("not applied before the batch is written").hasSize(30);
        applyBatch();
        assertThat(ids(storedFresh("u1"))).hasSize(27).doesNotContain("i4", "i5", "i6");
        assertThat(out()).hasSize(2);
        assertThat(ids(out().get(1))).isEqualTo(ids(storedFresh("u1")));
        // An item that is not in the fresh recall changes nothing there and emits nothing.
        show(impression("u1", "elsewhere", T0 + 13));
        assertThat(out()).hasSize(2);
        assertThat(storedSeen("u1").isSeen("elsewhere", T0 + 13)).isTrue();
        // A recall result applies the user's queued impressions first.
        queue(impression("u1", "i7", T0 + 14));
        harness.processElement2(recall("u1", T0 + 20, 0, 30), T0);
        assertThat(ids(out().get(out().size() - 1))).hasSize(26).doesNotContain("i4", "i5", "i6", "i7");
    }

    @ParameterizedTest
    @EnumSource(Representation.class)
    void withoutBatchDelayEveryImpressionIsAppliedAtOnce(Representation r) throws Exception {
        SeenPolicy policy = SeenPolicy.defaults().withRepresentation(r);
        start(new DedupSettings(policy, MIN_FRESH, REFILL_TIMEOUT, 0, 5000, 30 * DAY), null);
        harness.processElement2(recall("u1", T0, 0, 30), T0);
        queue(impression("u1", "i4", T0 + 10));
        assertThat(ids(storedFresh("u1"))).hasSize(29).doesNotContain("i4");
        assertThat(out()).hasSize(2);
    }

    @ParameterizedTest
    @EnumSource(Representation.class)
    void aDuplicateImpressionChangesNothing(Representation r) throws Exception {
        start(r);
        Impression first = impression("u1", "i1", T0);
        show(first);
        SeenSet before = state("u1", QueryableStates.seen());
        // The retry arrives a day later (as watermark time); it would extend the item's period if it counted.
        watermark(T0 + DAY);
        show(impression("u1", "i1", T0 + DAY, first.getImpressionId()));
        assertThat(state("u1", QueryableStates.seen())).isEqualTo(before);
        assertThat(storedSeen("u1").seenUntil("i1")).isLessThan(T0 + PERIOD + 1000);
    }

    @ParameterizedTest
    @EnumSource(Representation.class)
    void anItemComesBackAfterThePeriodAndExpiredStateIsCleared(Representation r) throws Exception {
        start(r);
        show(impression("u1", "i1", T0));
        watermark(T0 + PERIOD - 1);
        harness.processElement2(recall("u1", T0 + PERIOD - 1, 0, 20), T0);
        assertThat(ids(out().get(0))).doesNotContain("i1");
        watermark(T0 + PERIOD + FreshRecallFilter.CLEANUP_GRANULARITY_MS);
        harness.processElement2(recall("u1", T0 + PERIOD + 1, 0, 20), T0);
        assertThat(ids(out().get(1))).contains("i1").hasSize(20);
        assertThat((Object) state("u1", QueryableStates.seen())).as("an empty seen set is cleared").isNull();
        // An impression older than the period is ignored.
        show(impression("u1", "i2", T0 + 1));
        assertThat((Object) state("u1", QueryableStates.seen())).isNull();
    }

    @ParameterizedTest
    @EnumSource(Representation.class)
    void lateAndOutOfOrderImpressionsAreStillRecorded(Representation r) throws Exception {
        start(r);
        show(impression("u1", "i1", T0 + DAY));
        watermark(T0 + DAY);
        show(impression("u1", "i2", T0 + 3_600_000));
        show(impression("u1", "i3", T0));
        harness.processElement2(recall("u1", T0 + DAY, 0, 20), T0);
        assertThat(ids(out().get(0))).doesNotContain("i1", "i2", "i3").hasSize(17);
        // Each counts from its own time: i3 comes back first.
        watermark(T0 + PERIOD + FreshRecallFilter.CLEANUP_GRANULARITY_MS);
        harness.processElement2(recall("u1", T0 + PERIOD, 0, 20), T0);
        assertThat(ids(out().get(1))).contains("i3").doesNotContain("i1", "i2");
    }

    @ParameterizedTest
    @EnumSource(Representation.class)
    void theCapForgetsTheOldestItems(Representation r) throws Exception {
        start(r, 200);
        for (int i = 0; i < 1000; i++) {
            show(impression("u1", "i" + i, T0 + i * 1000L));
        }
        SeenTracker seen = storedSeen("u1");
        assertThat(seen.size()).isLessThanOrEqualTo(200);
        // The cap forgets a layer at a time, at most half the cap: at least the newest half is kept.
        int newestKept = (200 - settings.seen().hotItems()) / 2;
        harness.processElement2(recall("u1", T0 + 1_000_000, 1000 - newestKept, 1000), T0);
        assertThat(out().get(0).getCandidates()).isEmpty();
        harness.processElement2(recall("u1", T0 + 1_000_000, 0, 10), T0);
        assertThat(ids(out().get(1))).contains("i0", "i1", "i2");
    }

    @ParameterizedTest
    @EnumSource(Representation.class)
    void tooFewFreshCandidatesAskForOneRefillThatExcludesTheSeenOnes(Representation r) throws Exception {
        start(r);
        for (int i = 0; i < 15; i++) {
            show(impression("u1", "i" + i, T0 + i));
        }
        harness.processElement2(recall("u1", T0 + 100, 0, 20), T0);
        assertThat(out().get(0).getCandidates()).hasSize(5);
        assertThat(refills()).hasSize(1);
        RecallRefill refill = refills().get(0);
        assertThat(refill.getUserId()).isEqualTo("u1");
        assertThat(refill.getFresh()).isEqualTo(5);
        assertThat(refill.getMinFresh()).isEqualTo(MIN_FRESH);
        assertThat(refill.getExcluded()).extracting(e -> e.getItemId().toString())
                .containsExactlyInAnyOrderElementsOf(java.util.stream.IntStream.range(0, 15).mapToObj(i -> "i" + i).toList());
        assertThat(refill.getExcluded()).allMatch(e -> e.getUntil() >= T0 + PERIOD);
        // Still short, in flight: no second refill until the timeout.
        harness.processElement2(recall("u1", T0 + 100, 0, 20), T0);
        show(impression("u1", "i16", T0 + 200));
        assertThat(refills()).hasSize(1);
        // The refill's answer has enough: the next shortage asks again at once, naming what was shown since.
        harness.processElement2(recall("u1", T0 + 300, 100, 130), T0);
        assertThat(out().get(out().size() - 1).getCandidates()).hasSize(30);
        for (int i = 100; i < 121; i++) {
            queue(impression("u1", "i" + i, T0 + 300 + i));
        }
        applyBatch();
        assertThat(storedFresh("u1").getCandidates()).hasSize(9);
        assertThat(refills()).hasSize(2);
        assertThat(refills().get(1).getExcluded()).extracting(SeenExclusion::getItemId)
                .containsExactlyInAnyOrderElementsOf(java.util.stream.IntStream.range(100, 121).mapToObj(i -> "i" + i).toList());
        assertThat(refills().get(1).getFresh()).isEqualTo(9);
        // Still short after the timeout: a result asks again.
        harness.setProcessingTime(harness.getProcessingTime() + REFILL_TIMEOUT + 1);
        harness.processElement2(recall("u1", T0 + 400, 100, 130), T0);
        assertThat(refills()).hasSize(3);
    }

    @ParameterizedTest
    @EnumSource(Representation.class)
    void stateSurvivesASnapshotAndRestore(Representation r) throws Exception {
        start(r);
        show(impression("u1", "i1", T0));
        harness.processElement2(recall("u1", T0, 0, 20), T0);
        var snapshot = harness.snapshot(1, 2);
        harness.close();
        start(settings, snapshot);
        assertThat(ids(storedFresh("u1"))).hasSize(19).doesNotContain("i1");
        harness.processElement2(recall("u1", T0, 0, 20), T0);
        assertThat(ids(out().get(out().size() - 1))).doesNotContain("i1");
    }
}
