package dev.streamrec.client;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Collectors;

import dev.streamrec.avro.Candidate;
import dev.streamrec.avro.RecallResult;
import dev.streamrec.avro.Trigger;
import dev.streamrec.avro.UserFeatures;
import dev.streamrec.avro.UserVector;

/** How the query command and the local stack print what they read through queryable state. */
public final class ServingText {
    private ServingText() {}

    /** How index-job orders a recall's candidates (its RecallMerge), for the printed recall and bin/query --help. */
    public static final String CANDIDATE_ORDER = "candidates are interleaved by channel: u2i 1st, i2i 1st, u2i 2nd, "
            + "i2i 2nd, ... (an item already taken is skipped; when one channel runs out the other fills up to K); each "
            + "channel is best score first, and i2i itself takes the trigger items' neighbour lists in turn, newest trigger first";

    /**
     * A recall result, one field a line, then one line per candidate (rank, item, score, channel) in the served order:
     * the u2i and i2i channels interleaved (see {@link #CANDIDATE_ORDER}); limit 0 = all.
     */
    public static List<String> recall(RecallResult r, int limit, long nowMillis) {
        List<String> lines = new ArrayList<>();
        lines.add("model version:   " + r.getModelVersion());
        lines.add("computedAt:      " + time(r.getComputedAt(), nowMillis));
        lines.add("sourceEventTime: " + time(r.getSourceEventTime(), nowMillis));
        List<Candidate> candidates = r.getCandidates();
        int shown = limit > 0 ? Math.min(limit, candidates.size()) : candidates.size();
        lines.add("candidates:      " + candidates.size() + (shown < candidates.size() ? " (first " + shown + " shown)" : "")
                + (candidates.isEmpty() ? "" : ", u2i/i2i interleaved (rank order is the served order, not one score order)"));
        if (shown > 0) {
            int width = Math.max(4, candidates.subList(0, shown).stream().mapToInt(c -> c.getItemId().length()).max().orElse(4));
            lines.add(String.format(Locale.ROOT, "%4s  %-" + width + "s  %10s  %s", "rank", "item", "score", "channel"));
            for (int i = 0; i < shown; i++) {
                Candidate c = candidates.get(i);
                lines.add(String.format(Locale.ROOT, "%4d  %-" + width + "s  %10.6f  %s", i + 1, c.getItemId(), c.getScore(),
                        c.getChannel()));
            }
        }
        return lines;
    }

    /** Whether a user has seen an item, and the set's size and estimated false-positive rate. */
    public static List<String> seen(SeenAnswer a, long nowMillis) {
        List<String> lines = new ArrayList<>();
        if (!a.lookup().found()) {
            lines.add("item " + a.itemId() + ": not seen (the user has no seen set: nothing shown within the period)");
            return lines;
        }
        if (!a.inSet()) {
            lines.add("item " + a.itemId() + ": not seen");
        } else {
            lines.add("item " + a.itemId() + ": seen, counts as seen until " + Instant.ofEpochMilli(a.seenUntil())
                    + " (event time)");
        }
        lines.add(String.format(Locale.ROOT, "seen set:        %d items, estimated false-positive rate %.4f%%",
                a.setSize(), a.falsePositiveRate() * 100));
        return lines;
    }

    /** A recall result on one line: version, size, age and the first {@code top} candidates. */
    public static String recallSummary(RecallResult r, int top, long nowMillis) {
        String candidates = r.getCandidates().stream().limit(top)
                .map(c -> String.format(Locale.ROOT, "%s %.3f %s", c.getItemId(), c.getScore(), c.getChannel()))
                .collect(Collectors.joining(" | "));
        return String.format(Locale.ROOT, "model %s, %d candidates (u2i/i2i interleaved), computed %s: %s%s", r.getModelVersion(),
                r.getCandidates().size(), ago(r.getComputedAt(), nowMillis), candidates,
                r.getCandidates().size() > top ? " | ..." : "");
    }

    /** A user's features, one field a line (the ten newest triggers and strongest preferences). */
    public static List<String> features(UserFeatures f, long nowMillis) {
        List<String> lines = new ArrayList<>();
        lines.add("updateSeq:      " + f.getUpdateSeq() + " (" + f.getTotalActions() + " actions in total)");
        lines.add("lastEventId:    " + f.getLastEventId());
        lines.add("lastEventTime:  " + time(f.getLastEventTime(), nowMillis));
        lines.add("updatedAt:      " + time(f.getUpdatedAt(), nowMillis));
        lines.add("triggers:       " + f.getTriggers().size() + " (newest first)");
        for (Trigger t : f.getTriggers().subList(0, Math.min(10, f.getTriggers().size()))) {
            lines.add(String.format(Locale.ROOT, "  %-8s %-16s weight %6.2f  at %s", t.getAction(), t.getItemId(),
                    t.getWeight(), Instant.ofEpochMilli(t.getEventTime())));
        }
        lines.add("categories:     " + strongest(f.getCategoryPreferences()));
        lines.add("tags:           " + strongest(f.getTagPreferences()));
        lines.add("last hour:      " + f.getCountsLastHour());
        lines.add("last day:       " + f.getCountsLastDay());
        for (UserVector v : f.getVectors()) {
            String head = v.getVector().stream().limit(4).map(x -> String.format(Locale.ROOT, "%.3f", x))
                    .collect(Collectors.joining(", "));
            lines.add(String.format(Locale.ROOT, "vector %s:    dim %d, magnitude %.3f, as of %s: [%s, ...]",
                    v.getModelVersion(), v.getVector().size(), v.getMagnitude(), Instant.ofEpochMilli(v.getAsOf()), head));
        }
        return lines;
    }

    private static String strongest(Map<String, Double> weights) {
        return weights.entrySet().stream().sorted(Map.Entry.<String, Double>comparingByValue().reversed()).limit(10)
                .map(e -> String.format(Locale.ROOT, "%s=%.2f", e.getKey(), e.getValue())).collect(Collectors.joining(" "));
    }

    private static String time(long epochMillis, long nowMillis) {
        return String.format(Locale.ROOT, "%s (%d, %s)", Instant.ofEpochMilli(epochMillis), epochMillis,
                ago(epochMillis, nowMillis));
    }

    /**
     * How long ago {@code thenMillis} was, e.g. {@code 12.3 s ago}; never negative: a time ahead of {@code nowMillis}
     * (the writer's clock ahead of the reader's) is {@code 0 ms ago} with the skew said.
     */
    public static String ago(long thenMillis, long nowMillis) {
        long ms = nowMillis - thenMillis;
        return ms >= 0 ? age(ms) + " ago" : "0 ms ago (its clock " + age(-ms) + " ahead of this one)";
    }

    private static String age(long ms) {
        if (ms < 10_000) {
            return ms + " ms";
        }
        if (ms < 3_600_000) {
            return String.format(Locale.ROOT, "%.1f s", ms / 1000.0);
        }
        return String.format(Locale.ROOT, "%.1f h", ms / 3_600_000.0);
    }
}
