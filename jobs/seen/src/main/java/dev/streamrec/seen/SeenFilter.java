package dev.streamrec.seen;

import java.util.ArrayList;
import java.util.List;

import dev.streamrec.avro.Candidate;
import dev.streamrec.avro.RecallResult;
import dev.streamrec.avro.SeenExclusion;

/** Removing what a user has seen from their recall: pure functions of a result and a seen set (dedup-job and the client). */
public final class SeenFilter {
    private SeenFilter() {}

    /** A recall result without its seen candidates, and those candidates with the time each may come back. */
    public record Filtered(RecallResult fresh, List<SeenExclusion> seen) {}

    /** Filters {@code recall} against {@code seen} at event time {@code now}; the order of the rest is kept. */
    public static Filtered filter(RecallResult recall, SeenTracker seen, long now) {
        List<Candidate> fresh = new ArrayList<>(recall.getCandidates().size());
        List<SeenExclusion> excluded = new ArrayList<>();
        for (Candidate c : recall.getCandidates()) {
            long until = seen.seenUntil(c.getItemId());
            if (until > now) {
                excluded.add(new SeenExclusion(c.getItemId(), until));
            } else {
                fresh.add(c);
            }
        }
        RecallResult result = excluded.isEmpty() ? recall : RecallResult.newBuilder(recall).setCandidates(fresh).build();
        return new Filtered(result, excluded);
    }

    /** {@code fresh} without {@code itemId}, or {@code null} when it does not hold the item. */
    public static RecallResult without(RecallResult fresh, String itemId) {
        List<Candidate> candidates = fresh.getCandidates();
        for (int i = 0; i < candidates.size(); i++) {
            if (candidates.get(i).getItemId().equals(itemId)) {
                List<Candidate> rest = new ArrayList<>(candidates.size() - 1);
                rest.addAll(candidates.subList(0, i));
                for (int j = i + 1; j < candidates.size(); j++) {
                    if (!candidates.get(j).getItemId().equals(itemId)) {
                        rest.add(candidates.get(j));
                    }
                }
                return RecallResult.newBuilder(fresh).setCandidates(rest).build();
            }
        }
        return null;
    }
}
