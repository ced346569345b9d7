package dev.streamrec.feature;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import dev.streamrec.avro.Trigger;
import dev.streamrec.avro.UserFeatures;
import dev.streamrec.avro.UserVector;

/**
 * An independent, from-scratch computation of a user's features over the whole list of their actions
 * (no incremental state, no decay chaining), used to check the job.
 */
final class ReferenceFeatures {
    /** One action as the reference sees it: what the user did, and the item as it was. */
    record Applied(String eventId, String itemId, dev.streamrec.avro.ActionType action, double value, long eventTime,
                   String category, List<String> tags, Map<String, List<Float>> vectors) {}

    final long lastEventTime;
    final List<Trigger> triggers;
    final Map<String, Double> categories = new HashMap<>();
    final Map<String, Double> tags = new HashMap<>();
    final Map<String, double[]> vectors = new HashMap<>();
    final Map<String, Integer> lastHour = new HashMap<>();
    final Map<String, Integer> lastDay = new HashMap<>();
    final int count;

    ReferenceFeatures(List<Applied> inArrivalOrder, FeatureParams p) {
        count = inArrivalOrder.size();
        lastEventTime = inArrivalOrder.stream().mapToLong(Applied::eventTime).max().orElseThrow();
        List<Applied> byTime = new ArrayList<>(inArrivalOrder);
        byTime.sort(Comparator.comparingLong((Applied a) -> -a.eventTime()).thenComparing(Applied::itemId)
                .thenComparing(a -> a.action().name()));
        triggers = new ArrayList<>();
        for (Applied a : byTime.subList(0, Math.min(p.maxTriggers(), byTime.size()))) {
            triggers.add(new Trigger(a.itemId(), a.action(), p.weight(a.action(), a.value()), a.eventTime()));
        }
        long hourStart = Math.floorDiv(lastEventTime, 300_000L) * 300_000L - 11 * 300_000L;
        long dayStart = Math.floorDiv(lastEventTime, 3_600_000L) * 3_600_000L - 23 * 3_600_000L;
        for (Applied a : inArrivalOrder) {
            double w = p.weight(a.action(), a.value()) * Math.pow(0.5, (double) (lastEventTime - a.eventTime()) / p.halfLifeMs());
            if (a.category() != null) {
                categories.merge(a.category(), w, Double::sum);
            }
            a.tags().forEach(t -> tags.merge(t, w, Double::sum));
            a.vectors().forEach((version, x) -> {
                double[] sum = vectors.computeIfAbsent(version, k -> new double[x.size()]);
                for (int i = 0; i < x.size(); i++) {
                    sum[i] += w * x.get(i);
                }
            });
            if (a.eventTime() >= hourStart) {
                lastHour.merge(a.action().name(), 1, Integer::sum);
            }
            if (a.eventTime() >= dayStart) {
                lastDay.merge(a.action().name(), 1, Integer::sum);
            }
        }
    }

    /** Asserts the job's features equal this reference (floating-point sums within a tolerance). */
    void assertMatches(UserFeatures f) {
        assertThat(f.getUpdateSeq()).isEqualTo(count);
        assertThat(f.getTotalActions()).isEqualTo(count);
        assertThat(f.getLastEventTime()).isEqualTo(lastEventTime);
        assertThat(f.getTriggers()).hasSameSizeAs(triggers);
        for (int i = 0; i < triggers.size(); i++) {
            Trigger expected = triggers.get(i);
            Trigger actual = f.getTriggers().get(i);
            assertThat(actual.getItemId()).as("trigger %d", i).isEqualTo(expected.getItemId());
            assertThat(actual.getEventTime()).as("trigger %d", i).isEqualTo(expected.getEventTime());
            assertThat(actual.getAction()).as("trigger %d", i).isEqualTo(expected.getAction());
            assertThat(actual.getWeight()).as("trigger %d", i).isCloseTo(expected.getWeight(), within(1e-9));
        }
        assertClose("category", categories, f.getCategoryPreferences());
        assertClose("tag", tags, f.getTagPreferences());
        assertThat(f.getCountsLastHour()).isEqualTo(lastHour);
        assertThat(f.getCountsLastDay()).isEqualTo(lastDay);
        assertThat(f.getVectors()).hasSize(vectors.size());
        for (UserVector v : f.getVectors()) {
            double[] sum = vectors.get(v.getModelVersion());
            assertThat(sum).as("vector of version %s", v.getModelVersion()).isNotNull();
            double norm = 0;
            for (double s : sum) {
                norm += s * s;
            }
            norm = Math.sqrt(norm);
            assertThat(v.getMagnitude()).isCloseTo(norm, within(1e-6 * Math.max(1, norm) + 1e-9));
            for (int i = 0; i < sum.length; i++) {
                double expected = norm > 0 ? sum[i] / norm : 0;
                assertThat((double) v.getVector().get(i)).as("%s[%d]", v.getModelVersion(), i).isCloseTo(expected, within(1e-4));
            }
        }
    }

    private static void assertClose(String what, Map<String, Double> expected, Map<String, Double> actual) {
        assertThat(actual.keySet()).as(what + " keys").isEqualTo(expected.keySet());
        expected.forEach((k, v) -> assertThat(actual.get(k)).as(what + " " + k).isCloseTo(v, within(1e-9 * Math.max(1, Math.abs(v)))));
    }
}
