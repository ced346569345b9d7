package dev.streamrec.index;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import dev.streamrec.avro.Candidate;
import dev.streamrec.avro.RecallResult;
import dev.streamrec.avro.ScoredItem;
import dev.streamrec.avro.ShardAnswer;

/**
 * The merge of the shards' answers into a user's recall (pure functions). Each channel keeps the global top-K of
 * the shards' local top-Ks (best score first, ties by item id so the result is deterministic). The i2i channel takes
 * the seeds' neighbour lists in turn, newest seed first; the final list takes the u2i and i2i channels in turn,
 * dropping an item already taken, up to K candidates, each with its own score and channel.
 */
public final class RecallMerge {
    public static final String U2I = "u2i";
    public static final String I2I = "i2i";

    static final Comparator<ScoredItem> BEST_FIRST =
            Comparator.comparingDouble(ScoredItem::getScore).reversed().thenComparing(ScoredItem::getItemId);

    private RecallMerge() {}

    /** Adds one shard's answer to the merge so far (null before the first); the result is a new record. */
    public static ShardAnswer accumulate(ShardAnswer merged, ShardAnswer answer, int k, int perTrigger) {
        if (merged == null) {
            ShardAnswer first = ShardAnswer.newBuilder(answer).build();
            first.setU2i(topK(first.getU2i(), List.of(), k));
            Map<String, List<ScoredItem>> i2i = new HashMap<>();
            first.getI2i().forEach((seed, list) -> i2i.put(seed, topK(list, List.of(), perTrigger)));
            first.setI2i(i2i);
            first.setAnswers(1);
            return first;
        }
        ShardAnswer next = ShardAnswer.newBuilder(merged).build();
        next.setU2i(topK(merged.getU2i(), answer.getU2i(), k));
        Map<String, List<ScoredItem>> i2i = new HashMap<>(next.getI2i());
        answer.getI2i().forEach((seed, list) -> i2i.put(seed, topK(i2i.getOrDefault(seed, List.of()), list, perTrigger)));
        next.setI2i(i2i);
        next.setAnswers(merged.getAnswers() + 1);
        return next;
    }

    static List<ScoredItem> topK(List<ScoredItem> a, List<ScoredItem> b, int k) {
        List<ScoredItem> all = new ArrayList<>(a.size() + b.size());
        all.addAll(a);
        all.addAll(b);
        all.sort(BEST_FIRST);
        return new ArrayList<>(all.subList(0, Math.min(k, all.size())));
    }

    /** The user's recall from the complete merge. */
    public static RecallResult result(ShardAnswer merged, int k, long now) {
        List<ScoredItem> i2i = interleave(seedLists(merged));
        List<Candidate> candidates = new ArrayList<>(k);
        Set<String> taken = new HashSet<>();
        int u = 0;
        int i = 0;
        List<ScoredItem> u2i = merged.getU2i();
        while (candidates.size() < k && (u < u2i.size() || i < i2i.size())) {
            if (u < u2i.size()) {
                ScoredItem s = u2i.get(u++);
                if (taken.add(s.getItemId())) {
                    candidates.add(new Candidate(s.getItemId(), s.getScore(), U2I));
                }
            }
            if (candidates.size() < k && i < i2i.size()) {
                ScoredItem s = i2i.get(i++);
                if (taken.add(s.getItemId())) {
                    candidates.add(new Candidate(s.getItemId(), s.getScore(), I2I));
                }
            }
        }
        return RecallResult.newBuilder()
                .setUserId(merged.getUserId())
                .setModelVersion(merged.getModelVersion())
                .setCandidates(candidates)
                .setComputedAt(now)
                .setSourceEventTime(merged.getSourceEventTime())
                .build();
    }

    private static List<List<ScoredItem>> seedLists(ShardAnswer merged) {
        List<List<ScoredItem>> lists = new ArrayList<>();
        for (String seed : merged.getTriggerItems()) {
            List<ScoredItem> l = merged.getI2i().get(seed);
            if (l != null && !l.isEmpty()) {
                lists.add(l);
            }
        }
        return lists;
    }

    /** Takes the lists' items in turn (first of each, then second of each, ...), each item once. */
    static List<ScoredItem> interleave(List<List<ScoredItem>> lists) {
        List<ScoredItem> out = new ArrayList<>();
        Set<String> seen = new HashSet<>();
        int longest = lists.stream().mapToInt(List::size).max().orElse(0);
        for (int rank = 0; rank < longest; rank++) {
            for (List<ScoredItem> l : lists) {
                if (rank < l.size() && seen.add(l.get(rank).getItemId())) {
                    out.add(l.get(rank));
                }
            }
        }
        return out;
    }
}
