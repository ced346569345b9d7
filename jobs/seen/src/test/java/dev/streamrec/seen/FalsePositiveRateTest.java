package dev.streamrec.seen;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HashMap;
import java.util.Map;
import java.util.Random;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import dev.streamrec.seen.SeenPolicy.Representation;

/**
 * The compact set against an exact reference (a map of item to latest impression), 100,000 lookups of unseen items
 * and every seen one: the false-positive rate stays within the policy's bound, there is no false negative.
 */
class FalsePositiveRateTest {
    private static final long T0 = 1_700_000_000_000L;
    private static final int LOOKUPS = 100_000;

    @ParameterizedTest(name = "{0} users x {1} items over {2} days")
    @CsvSource({"40, 500, 7", "20, 1500, 1", "100, 60, 7"})
    void withinTheBoundAndNoFalseNegatives(int users, int itemsPerUser, int days) {
        SeenPolicy policy = SeenPolicy.defaults().withRepresentation(Representation.COMPACT);
        Random random = new Random(7);
        long now = T0 + days * SeenPolicy.DAY_MS;
        long falsePositives = 0;
        long unseenLookups = 0;
        double worstEstimate = 0;
        for (int u = 0; u < users; u++) {
            SeenTracker seen = SeenTracker.empty(policy);
            Map<String, Long> reference = new HashMap<>();
            for (int i = 0; i < itemsPerUser; i++) {
                String item = "u" + u + "-item-" + random.nextInt(itemsPerUser * 4);
                long at = T0 + (long) i * days * SeenPolicy.DAY_MS / itemsPerUser - random.nextInt(600_000);
                seen.record(item, "imp-" + u + "-" + i, at);
                reference.merge(item, at, Math::max);
            }
            for (Map.Entry<String, Long> e : reference.entrySet()) {
                if (e.getValue() + policy.periodMs() > now) {
                    assertThat(seen.isSeen(e.getKey(), now)).as("false negative: %s", e.getKey()).isTrue();
                }
            }
            for (int l = 0; l < LOOKUPS / users; l++) {
                String unseen = "u" + u + "-never-" + l;
                unseenLookups++;
                if (seen.isSeen(unseen, now)) {
                    falsePositives++;
                }
            }
            worstEstimate = Math.max(worstEstimate, seen.falsePositiveRate());
        }
        double measured = (double) falsePositives / unseenLookups;
        assertThat(unseenLookups).isGreaterThanOrEqualTo(LOOKUPS);
        assertThat(measured).as("measured false-positive rate").isLessThanOrEqualTo(policy.falsePositiveRate());
        assertThat(worstEstimate).as("estimated false-positive rate").isLessThanOrEqualTo(policy.falsePositiveRate());
    }
}
