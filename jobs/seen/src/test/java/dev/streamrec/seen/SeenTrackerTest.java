package dev.streamrec.seen;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HashMap;
import java.util.Map;
import java.util.Random;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import dev.streamrec.avro.SeenSet;
import dev.streamrec.schemas.AvroSingleObjectSerde;
import dev.streamrec.seen.SeenPolicy.Representation;
import dev.streamrec.seen.SeenTracker.Outcome;

/** Both representations behind the same tests; the exact behaviour is the reference. */
class SeenTrackerTest {
    private static final long DAY = SeenPolicy.DAY_MS;
    private static final long T0 = 1_700_000_000_000L;

    private static SeenPolicy policy(Representation r) {
        return SeenPolicy.defaults().withRepresentation(r);
    }

    /** Encodes to Avro bytes and decodes again, as state does between two events. */
    private static SeenTracker roundTrip(SeenTracker tracker, SeenPolicy policy) throws java.io.IOException {
        AvroSingleObjectSerde<SeenSet> serde = AvroSingleObjectSerde.of(SeenSet.class);
        return SeenTracker.of(serde.decode(serde.encode(tracker.toRecord())), policy);
    }

    @ParameterizedTest
    @EnumSource(Representation.class)
    void anItemIsSeenForThePeriodAfterItsLatestImpression(Representation r) throws Exception {
        SeenPolicy policy = policy(r);
        SeenTracker seen = SeenTracker.empty(policy);
        assertThat(seen.record("i1", "imp-1", T0)).isEqualTo(Outcome.RECORDED);
        seen = roundTrip(seen, policy);
        assertThat(seen.isSeen("i1", T0 + 7 * DAY - 1)).isTrue();
        assertThat(seen.isSeen("i1", T0 + 7 * DAY)).isFalse();
        assertThat(seen.isSeen("i2", T0)).isFalse();
        // A later impression of the same item extends it.
        seen.record("i1", "imp-2", T0 + DAY);
        assertThat(seen.isSeen("i1", T0 + 8 * DAY - 1)).isTrue();
        assertThat(seen.size()).isEqualTo(1);
    }

    @ParameterizedTest
    @EnumSource(Representation.class)
    void theSameImpressionTwiceIsADuplicate(Representation r) throws Exception {
        SeenPolicy policy = policy(r);
        SeenTracker seen = SeenTracker.empty(policy);
        seen.record("i1", "imp-1", T0);
        seen = roundTrip(seen, policy);
        assertThat(seen.record("i1", "imp-1", T0)).isEqualTo(Outcome.DUPLICATE);
        assertThat(seen.record("i1", "imp-9", T0 + 5)).isEqualTo(Outcome.RECORDED);
        assertThat(seen.size()).isEqualTo(1);
    }

    @ParameterizedTest
    @EnumSource(Representation.class)
    void lateImpressionsCountFromTheirOwnTime(Representation r) throws Exception {
        SeenPolicy policy = policy(r);
        SeenTracker seen = SeenTracker.empty(policy);
        seen.record("new", "imp-1", T0 + 3 * DAY);
        seen.record("late", "imp-2", T0);
        assertThat(seen.isSeen("late", T0 + 3 * DAY)).isTrue();
        assertThat(seen.isSeen("new", T0 + 9 * DAY)).isTrue();
        // Out of order: the late one expires first, and never before its period ends.
        assertThat(seen.seenUntil("late")).isGreaterThanOrEqualTo(T0 + 7 * DAY);
        assertThat(seen.nextExpiry()).isGreaterThanOrEqualTo(T0 + 7 * DAY);
    }

    @ParameterizedTest
    @EnumSource(Representation.class)
    void expiryDropsWhatThePeriodLeftBehind(Representation r) throws Exception {
        SeenPolicy policy = policy(r);
        SeenTracker seen = SeenTracker.empty(policy);
        for (int i = 0; i < 300; i++) {
            seen.record("old-" + i, "imp-old-" + i, T0 + i * 1000L);
        }
        for (int i = 0; i < 40; i++) {
            // More than a layer span later: in a layer of their own (items may stay seen up to a span past the period).
            seen.record("new-" + i, "imp-new-" + i, T0 + policy.layerSpanMs() + DAY + i * 1000L);
        }
        seen = roundTrip(seen, policy);
        long now = T0 + 7 * DAY + DAY + 1;
        seen.expire(now);
        for (int i = 0; i < 40; i++) {
            assertThat(seen.isSeen("new-" + i, now)).isTrue();
        }
        // The old layers are gone: an old item is seen only as a false positive of the new ones (none when exact).
        int oldSeen = 0;
        for (int i = 0; i < 300; i++) {
            oldSeen += seen.isSeen("old-" + i, now) ? 1 : 0;
        }
        assertThat(oldSeen).isLessThanOrEqualTo(r == Representation.EXACT ? 0 : 3);
        assertThat(seen.size()).isEqualTo(40);
        seen.expire(T0 + policy.layerSpanMs() + 9 * DAY);
        assertThat(seen.isEmpty()).isTrue();
        assertThat(seen.nextExpiry()).isEqualTo(Long.MAX_VALUE);
    }

    @ParameterizedTest
    @EnumSource(Representation.class)
    void theCapForgetsTheOldestFirst(Representation r) throws Exception {
        SeenPolicy small = new SeenPolicy(r, 7 * DAY, 200, 16, DAY, 64, 8, 0.01);
        SeenTracker seen = SeenTracker.empty(small);
        for (int i = 0; i < 1000; i++) {
            seen.record("item-" + i, "imp-" + i, T0 + i * 60_000L);
        }
        seen = roundTrip(seen, small);
        assertThat(seen.size()).isLessThanOrEqualTo(200);
        long now = T0 + 1000 * 60_000L;
        for (int i = 900; i < 1000; i++) {
            assertThat(seen.isSeen("item-" + i, now)).as("recent item %d", i).isTrue();
        }
        assertThat(seen.isSeen("item-0", now)).isFalse();
    }

    @ParameterizedTest
    @EnumSource(Representation.class)
    void aRandomStreamMatchesTheExactReferenceWithoutFalseNegatives(Representation r) throws Exception {
        SeenPolicy policy = policy(r);
        Random random = new Random(42);
        SeenTracker seen = SeenTracker.empty(policy);
        Map<String, Long> reference = new HashMap<>();
        long now = T0;
        for (int step = 0; step < 3000; step++) {
            now += random.nextInt(10 * 60_000);
            String item = "item-" + random.nextInt(800);
            long at = now - random.nextInt(3_600_000);
            seen.record(item, "imp-" + step, at);
            reference.merge(item, at, Math::max);
            if (step % 100 == 0) {
                seen = roundTrip(seen, policy);
                seen.expire(now);
            }
            for (Map.Entry<String, Long> e : reference.entrySet()) {
                if (e.getValue() + policy.periodMs() > now) {
                    assertThat(seen.isSeen(e.getKey(), now)).as("seen %s at %d", e.getKey(), now).isTrue();
                }
            }
        }
    }
}
