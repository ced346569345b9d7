package dev.streamrec.feature;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import dev.streamrec.avro.ActivityBucket;
import dev.streamrec.avro.EnrichedAction;
import dev.streamrec.avro.Trigger;
import dev.streamrec.avro.UserAction;
import dev.streamrec.avro.UserFeatures;
import dev.streamrec.avro.UserVector;

/**
 * The feature computation, as a pure function of (current features, one enriched action). Order-insensitive where
 * it can be: decayed sums are kept as of the newest event time seen, so a late action adds its contribution decayed
 * by its age and never moves "most recent" backwards.
 *
 * <p>Definitions (the independent reference in the tests follows them):
 * <ul>
 *   <li>w(a) = action weight (RATE: scaled by the rating); decay(dt) = 0.5^(dt / halfLife); T = newest event time.</li>
 *   <li>preference[c] = sum over actions on items of category c (resp. tag) of w * decay(T - t).</li>
 *   <li>vector[v] = normalize(sum over actions of w * decay(T - t) * itemVector[v]).</li>
 *   <li>triggers: the maxTriggers actions with the latest event time, newest first (ties by item id, action).</li>
 *   <li>countsLastHour / countsLastDay: actions per type in the 12 five-minute / 24 one-hour buckets ending with the
 *       bucket of T.</li>
 * </ul>
 */
public final class UserFeatureMath {
    static final long FIVE_MINUTES = 5 * 60_000L;
    static final long ONE_HOUR = 60 * 60_000L;
    static final int HOUR_BUCKETS = 12;
    static final int DAY_BUCKETS = 24;

    private UserFeatureMath() {}

    public static UserFeatures empty(String userId) {
        return UserFeatures.newBuilder().setUserId(userId).setUpdateSeq(0).setLastEventId(null)
                .setLastEventTime(Long.MIN_VALUE).setUpdatedAt(0).setTriggers(new ArrayList<>())
                .setCategoryPreferences(new HashMap<>()).setTagPreferences(new HashMap<>())
                .setCountsLastHour(new HashMap<>()).setCountsLastDay(new HashMap<>()).setTotalActions(0)
                .setVectors(new ArrayList<>()).setActivity(new ArrayList<>()).build();
    }

    /**
     * Applies one action to {@code f} in place, except {@code countsLastHour}/{@code countsLastDay}, which depend only on
     * the activity buckets the last action leaves: several {@code add}s then one {@link #summarize} equal applying each
     * action in full.
     */
    static void add(UserFeatures f, EnrichedAction enriched, FeatureParams p, long now) {
        UserAction a = enriched.getAction();
        long t = a.getEventTime();
        long previous = f.getUpdateSeq() == 0 ? t : f.getLastEventTime();
        long newest = Math.max(previous, t);
        double w = p.weight(a.getAction(), a.getValue());
        double contribution = w * p.decay(newest - t);

        // Preferences: bring the sums forward to the new reference time, then add this action.
        double forward = p.decay(newest - previous);
        Map<String, Double> categories = decayed(f.getCategoryPreferences(), forward);
        if (enriched.getCategory() != null) {
            categories.merge(enriched.getCategory(), contribution, Double::sum);
        }
        Map<String, Double> tags = decayed(f.getTagPreferences(), forward);
        for (String tag : enriched.getTags()) {
            tags.merge(tag, contribution, Double::sum);
        }
        f.setCategoryPreferences(strongest(categories, p.maxPreferences()));
        f.setTagPreferences(strongest(tags, p.maxPreferences()));

        f.setVectors(updateVectors(f.getVectors(), enriched.getVectors(), w, t, newest, p));
        f.setTriggers(insertTrigger(f.getTriggers(), new Trigger(a.getItemId(), a.getAction(), w, t), p.maxTriggers()));
        updateActivity(f, a, newest);

        f.setTotalActions(f.getTotalActions() + 1);
        f.setUpdateSeq(f.getUpdateSeq() + 1);
        f.setLastEventId(a.getEventId());
        f.setLastEventTime(newest);
        f.setUpdatedAt(now);
    }

    /** Brings the sums forward in place (the maps are the record's own). */
    private static Map<String, Double> decayed(Map<String, Double> values, double factor) {
        if (factor != 1.0) {
            values.replaceAll((k, v) -> v * factor);
        }
        return values;
    }

    /** Keeps the {@code max} entries of largest magnitude, so state per user stays bounded. */
    static Map<String, Double> strongest(Map<String, Double> values, int max) {
        if (values.size() <= max) {
            return values;
        }
        Map<String, Double> out = new HashMap<>();
        values.entrySet().stream()
                .sorted(Comparator.comparingDouble((Map.Entry<String, Double> e) -> -Math.abs(e.getValue()))
                        .thenComparing(Map.Entry::getKey))
                .limit(max)
                .forEach(e -> out.put(e.getKey(), e.getValue()));
        return out;
    }

    private static List<UserVector> updateVectors(List<UserVector> current, Map<String, List<Float>> itemVectors,
                                                  double w, long t, long newest, FeatureParams p) {
        List<UserVector> out = new ArrayList<>(current.size() + 1);
        // Versions this item has no vector for keep their direction; their length is brought forward to `newest`,
        // so every vector is stated as of the same time.
        for (UserVector v : current) {
            out.add(itemVectors.containsKey(v.getModelVersion()) || v.getAsOf() == newest ? v
                    : new UserVector(v.getModelVersion(), v.getVector(), v.getMagnitude() * p.decay(newest - v.getAsOf()), newest));
        }
        for (Map.Entry<String, List<Float>> iv : itemVectors.entrySet()) {
            int index = indexOf(out, iv.getKey());
            List<Float> x = iv.getValue();
            double[] sum = new double[x.size()];
            if (index >= 0) {
                UserVector old = out.get(index);
                if (old.getVector().size() == x.size()) {
                    // Reconstruct the decayed sum from its direction and length, and bring it forward to `newest`.
                    double scale = old.getMagnitude() * p.decay(newest - old.getAsOf());
                    for (int i = 0; i < sum.length; i++) {
                        sum[i] = old.getVector().get(i) * scale;
                    }
                }
            }
            double c = w * p.decay(newest - t);
            double norm2 = 0;
            for (int i = 0; i < sum.length; i++) {
                sum[i] += c * x.get(i);
                norm2 += sum[i] * sum[i];
            }
            double norm = Math.sqrt(norm2);
            List<Float> unit = new ArrayList<>(sum.length);
            for (double s : sum) {
                unit.add(norm > 0 ? (float) (s / norm) : 0f);
            }
            UserVector updated = new UserVector(iv.getKey(), unit, norm, newest);
            if (index >= 0) {
                out.set(index, updated);
            } else {
                out.add(updated);
            }
        }
        return out;
    }

    private static int indexOf(List<UserVector> vectors, String version) {
        for (int i = 0; i < vectors.size(); i++) {
            if (vectors.get(i).getModelVersion().equals(version)) {
                return i;
            }
        }
        return -1;
    }

    /**
     * Newest first by event time; equal times by item id, then action, so the kept list never depends on the order in
     * which actions with equal times arrived (they can arrive in any order from different upstream subtasks).
     */
    static final Comparator<Trigger> NEWEST_FIRST = Comparator.comparingLong((Trigger t) -> -t.getEventTime())
            .thenComparing(Trigger::getItemId).thenComparing(t -> t.getAction().name());

    static List<Trigger> insertTrigger(List<Trigger> triggers, Trigger trigger, int max) {
        List<Trigger> out = new ArrayList<>(Math.min(triggers.size() + 1, max + 1));
        boolean inserted = false;
        for (Trigger existing : triggers) {
            if (!inserted && NEWEST_FIRST.compare(trigger, existing) < 0) {
                out.add(trigger);
                inserted = true;
            }
            out.add(existing);
        }
        if (!inserted) {
            out.add(trigger);
        }
        return out.size() > max ? new ArrayList<>(out.subList(0, max)) : out;
    }

    private static void updateActivity(UserFeatures f, UserAction a, long newest) {
        String action = a.getAction().name();
        long t = a.getEventTime();
        List<ActivityBucket> kept = new ArrayList<>(f.getActivity().size() + 2);
        long hourFloor = floor(newest, FIVE_MINUTES) - (HOUR_BUCKETS - 1) * FIVE_MINUTES;
        long dayFloor = floor(newest, ONE_HOUR) - (DAY_BUCKETS - 1) * ONE_HOUR;
        boolean addedShort = t < hourFloor;
        boolean addedLong = t < dayFloor;
        for (ActivityBucket b : f.getActivity()) {
            boolean isShort = b.getWidthMinutes() == 5;
            if (b.getStart() < (isShort ? hourFloor : dayFloor)) {
                continue;
            }
            if (isShort && !addedShort && b.getStart() == floor(t, FIVE_MINUTES)) {
                b.getCounts().merge(action, 1, Integer::sum);
                addedShort = true;
            } else if (!isShort && !addedLong && b.getStart() == floor(t, ONE_HOUR)) {
                b.getCounts().merge(action, 1, Integer::sum);
                addedLong = true;
            }
            kept.add(b);
        }
        if (!addedShort) {
            kept.add(newBucket(floor(t, FIVE_MINUTES), 5, action));
        }
        if (!addedLong) {
            kept.add(newBucket(floor(t, ONE_HOUR), 60, action));
        }
        f.setActivity(kept);
    }

    /** Derives {@code countsLastHour} / {@code countsLastDay} from the activity buckets. */
    static void summarize(UserFeatures f) {
        Map<String, Integer> lastHour = new HashMap<>();
        Map<String, Integer> lastDay = new HashMap<>();
        for (ActivityBucket b : f.getActivity()) {
            Map<String, Integer> target = b.getWidthMinutes() == 5 ? lastHour : lastDay;
            b.getCounts().forEach((k, v) -> target.merge(k, v, Integer::sum));
        }
        f.setCountsLastHour(lastHour);
        f.setCountsLastDay(lastDay);
    }

    private static ActivityBucket newBucket(long start, int widthMinutes, String action) {
        Map<String, Integer> counts = new HashMap<>();
        counts.put(action, 1);
        return new ActivityBucket(start, widthMinutes, counts);
    }

    static long floor(long t, long width) {
        return Math.floorDiv(t, width) * width;
    }
}
