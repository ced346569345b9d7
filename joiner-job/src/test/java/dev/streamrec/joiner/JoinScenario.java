package dev.streamrec.joiner;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;

import com.google.common.hash.Hashing;

import dev.streamrec.avro.ActionType;
import dev.streamrec.avro.Impression;
import dev.streamrec.avro.TrainingExample;
import dev.streamrec.avro.UserAction;

/**
 * A generated stream of impressions and actions (random delays inside and after the window, beyond the lateness,
 * requestIds, several impressions of one item, duplicates, actions that match nothing), each topic in event-time
 * order up to a jitter below the watermark's out-of-orderness bound, and the offline join of it: what the job must
 * emit, computed here from the rules alone (no code shared with the job).
 */
final class JoinScenario {
    static final long WINDOW = 3_600_000L;
    static final long LATENESS = 6 * WINDOW;
    static final double RATE = 0.1;
    /** Below the jobs' default out-of-orderness (5 s): nothing is late to the watermark, so the outcome is fixed. */
    static final int JITTER_MS = 2_000;
    static final Set<ActionType> POSITIVE = Set.of(ActionType.CLICK, ActionType.LIKE, ActionType.SHARE,
            ActionType.COMMENT, ActionType.PURCHASE, ActionType.COMPLETE);
    private static final ActionType[] TYPES = {ActionType.VIEW, ActionType.CLICK, ActionType.LIKE, ActionType.SHARE,
            ActionType.COMMENT, ActionType.PURCHASE, ActionType.COMPLETE, ActionType.DISLIKE, ActionType.RATE};

    final List<Impression> impressions = new ArrayList<>();
    final List<UserAction> actions = new ArrayList<>();
    final long start;
    long end;

    /** {@code count} impressions from {@code start}, one every 300 ms of event time (100,000 span 8.3 hours). */
    JoinScenario(int count, long start, long seed) {
        this.start = start;
        Random random = new Random(seed);
        int users = Math.max(50, count / 20);
        int items = Math.max(50, count / 50);
        List<Impression> unique = new ArrayList<>();
        List<Long> sendAt = new ArrayList<>();
        List<Long> actionSendAt = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            long time = start + i * 300L + random.nextInt(JITTER_MS);
            String user;
            String item;
            if (i > 100 && random.nextDouble() < 0.1) {
                // The same item shown to the same user again (at least 20 impressions, i.e. 6 s, later).
                Impression earlier = unique.get(i - 20 - random.nextInt(Math.min(i - 20, 20_000)));
                user = earlier.getUserId();
                item = earlier.getItemId();
            } else {
                user = "user-" + random.nextInt(users);
                item = "item-" + random.nextInt(items);
            }
            String request = "req-" + seed + "-" + i / 10;
            Impression impression = new Impression("imp-" + seed + "-" + i, request, user, item, i % 10,
                    random.nextBoolean() ? "u2i" : "i2i", "v1", null, Map.of("ctr", random.nextDouble()), time);
            unique.add(impression);
            impressions.add(impression);
            sendAt.add(time + random.nextInt(JITTER_MS));
            if (random.nextDouble() < 0.01) {
                impressions.add(impression);  // a retried send
                sendAt.add(time + random.nextInt(JITTER_MS));
            }
            if (random.nextDouble() < 0.3) {
                int n = 1 + random.nextInt(3);
                for (int k = 0; k < n; k++) {
                    double where = random.nextDouble();
                    long delay = where < 0.8 ? 1_000 + (long) (random.nextDouble() * (WINDOW - 2_000))
                            : where < 0.95 ? WINDOW + (long) (random.nextDouble() * LATENESS)
                            : WINDOW + LATENESS + (long) (random.nextDouble() * WINDOW);
                    ActionType type = TYPES[random.nextInt(TYPES.length)];
                    double value = type == ActionType.RATE ? 1 + random.nextInt(5) : random.nextDouble();
                    String carried = random.nextBoolean() ? request : null;
                    UserAction action = new UserAction("ev-" + seed + "-" + i + "-" + k, user, item, type, value,
                            time + delay, carried);
                    actions.add(action);
                    actionSendAt.add(action.getEventTime() + random.nextInt(JITTER_MS));
                    if (random.nextDouble() < 0.03) {
                        actions.add(action);
                        actionSendAt.add(action.getEventTime() + random.nextInt(JITTER_MS));
                    }
                }
            }
            if (random.nextDouble() < 0.02) {
                long t = time + random.nextInt(60_000);
                UserAction stray = new UserAction("stray-" + seed + "-" + i, "user-" + random.nextInt(users),
                        "item-" + random.nextInt(items), ActionType.CLICK, 1.0, t, random.nextBoolean() ? "req-none" : null);
                actions.add(stray);
                actionSendAt.add(t + random.nextInt(JITTER_MS));
            }
        }
        sortBySend(impressions, sendAt);
        sortBySend(actions, actionSendAt);
        end = Math.max(impressions.stream().mapToLong(Impression::getEventTime).max().orElse(start),
                actions.stream().mapToLong(UserAction::getEventTime).max().orElse(start));
    }

    private static <T> void sortBySend(List<T> records, List<Long> sendAt) {
        List<Integer> order = new ArrayList<>();
        for (int i = 0; i < records.size(); i++) {
            order.add(i);
        }
        order.sort(Comparator.comparing(sendAt::get));
        List<T> sorted = new ArrayList<>();
        order.forEach(i -> sorted.add(records.get(i)));
        records.clear();
        records.addAll(sorted);
    }

    /**
     * Events after everything else on both topics, from 40 users (both partitions of every topic get some): they
     * move the watermark past every window and lateness. They join nothing and close no window themselves.
     */
    List<Impression> clockImpressions() {
        List<Impression> out = new ArrayList<>();
        for (int u = 0; u < 40; u++) {
            out.add(new Impression("clock-imp-" + u, "clock", "clock-user-" + u, "clock-item", 0, "u2i", "v1", null,
                    Map.of(), clockTime()));
        }
        return out;
    }

    List<UserAction> clockActions() {
        List<UserAction> out = new ArrayList<>();
        for (int u = 0; u < 40; u++) {
            out.add(new UserAction("clock-ev-" + u, "clock-user-" + u, "clock-item", ActionType.VIEW, 1.0, clockTime(), null));
        }
        return out;
    }

    long clockTime() {
        return end + WINDOW + LATENESS + 600_000L;
    }

    // ------------------------------------------------------------------ the offline join

    static boolean kept(String impressionId) {
        long h = Hashing.murmur3_128().hashString(impressionId, StandardCharsets.UTF_8).asLong();
        return (h >>> 11) / (double) (1L << 53) < RATE;
    }

    static boolean positive(UserAction a) {
        return POSITIVE.contains(a.getAction()) || (a.getAction() == ActionType.RATE && a.getValue() >= 4.0);
    }

    /** The examples by exampleId, joinedAt 0. */
    Map<String, TrainingExample> reference() {
        Map<String, Impression> byId = new LinkedHashMap<>();
        impressions.forEach(i -> byId.putIfAbsent(i.getImpressionId(), i));
        Map<String, List<Impression>> byKey = new HashMap<>();
        byId.values().forEach(i -> byKey.computeIfAbsent(i.getUserId() + "\n" + i.getItemId(), k -> new ArrayList<>()).add(i));

        Map<String, UserAction> uniqueActions = new TreeMap<>();
        actions.forEach(a -> uniqueActions.putIfAbsent(a.getEventId(), a));
        List<UserAction> ordered = new ArrayList<>(uniqueActions.values());
        ordered.sort(Comparator.comparingLong(UserAction::getEventTime).thenComparing(UserAction::getEventId));
        Map<String, List<UserAction>> joined = new HashMap<>();
        for (UserAction a : ordered) {
            Impression target = null;
            for (Impression i : byKey.getOrDefault(a.getUserId() + "\n" + a.getItemId(), List.of())) {
                boolean candidate = i.getEventTime() <= a.getEventTime()
                        && (a.getRequestId() == null || a.getRequestId().equals(i.getRequestId()));
                if (candidate && (target == null || i.getEventTime() > target.getEventTime())) {
                    target = i;
                }
            }
            // Forgotten once its lateness ended (at exactly the end it is still held: the action is beyond it then).
            if (target != null && a.getEventTime() <= target.getEventTime() + WINDOW + LATENESS) {
                joined.computeIfAbsent(target.getImpressionId(), k -> new ArrayList<>()).add(a);
            }
        }

        Map<String, TrainingExample> out = new HashMap<>();
        for (Impression i : byId.values()) {
            long windowEnd = i.getEventTime() + WINDOW;
            List<UserAction> in = new ArrayList<>();
            UserAction late = null;
            for (UserAction a : joined.getOrDefault(i.getImpressionId(), List.of())) {
                if (a.getEventTime() < windowEnd) {
                    in.add(a);
                } else if (late == null && a.getEventTime() < windowEnd + LATENESS && positive(a)) {
                    late = a;
                }
            }
            boolean isPositive = in.stream().anyMatch(JoinScenario::positive);
            if (isPositive) {
                out.put(i.getImpressionId(), example(i, i.getImpressionId(), in, 1, 1.0, false, false));
            } else {
                if (kept(i.getImpressionId())) {
                    out.put(i.getImpressionId(), example(i, i.getImpressionId(), in, 0, RATE, false, false));
                }
                if (late != null) {
                    List<UserAction> withLate = new ArrayList<>(in);
                    withLate.add(late);
                    out.put(i.getImpressionId() + ":late",
                            example(i, i.getImpressionId() + ":late", withLate, 1, 1.0, true, kept(i.getImpressionId())));
                }
            }
        }
        return out;
    }

    private static TrainingExample example(Impression i, String exampleId, List<UserAction> labelled, int label,
                                           double rate, boolean late, boolean replacesNegative) {
        Map<String, Integer> labels = new HashMap<>();
        Map<String, Double> values = new HashMap<>();
        Map<String, Long> valueTimes = new HashMap<>();
        Long first = null;
        for (UserAction a : labelled) {
            String type = a.getAction().name();
            labels.merge(type, 1, Integer::sum);
            Long at = valueTimes.get(type);
            if (at == null || a.getEventTime() > at || (a.getEventTime() == at && a.getValue() > values.get(type))) {
                values.put(type, a.getValue());
                valueTimes.put(type, a.getEventTime());
            }
            first = first == null ? a.getEventTime() : Math.min(first, a.getEventTime());
        }
        return TrainingExample.newBuilder().setImpression(Impression.newBuilder(i).build()).setLabels(labels)
                .setLabel(label).setSampleWeight(1.0 / rate).setSampleRate(rate).setJoinedAt(0)
                .setExampleId(exampleId).setLate(late).setReplacesNegative(replacesNegative)
                .setTimeToFirstActionMs(first == null ? null : first - i.getEventTime()).setValues(values)
                .setWindowEnd(i.getEventTime() + WINDOW).build();
    }

    /** The job's output by exampleId (joinedAt 0), failing on a duplicate. */
    static Map<String, TrainingExample> byExampleId(List<TrainingExample> examples) {
        Map<String, TrainingExample> out = new HashMap<>();
        Set<String> duplicated = new HashSet<>();
        for (TrainingExample e : examples) {
            TrainingExample copy = TrainingExample.newBuilder(e).setJoinedAt(0).build();
            if (out.put(e.getExampleId(), copy) != null) {
                duplicated.add(e.getExampleId());
            }
        }
        if (!duplicated.isEmpty()) {
            throw new AssertionError(duplicated.size() + " examples emitted more than once, e.g. " + duplicated.iterator().next());
        }
        return out;
    }
}
