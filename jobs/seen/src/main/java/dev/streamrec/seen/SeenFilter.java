package dev.streamrec.seen;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

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
        RecallResult result = excluded.isEmpty() ? recall : withCandidates(recall, fresh);
        return new Filtered(result, excluded);
    }

    /** {@code fresh} without the items of {@code itemIds}, or {@code null} when it holds none of them. */
    public static RecallResult without(RecallResult fresh, Set<String> itemIds) {
        List<Candidate> candidates = fresh.getCandidates();
        List<Candidate> rest = null;
        for (int i = 0; i < candidates.size(); i++) {
            Candidate c = candidates.get(i);
            if (itemIds.contains(c.getItemId())) {
                if (rest == null) {
                    rest = new ArrayList<>(candidates.size());
                    rest.addAll(candidates.subList(0, i));
                }
            } else if (rest != null) {
                rest.add(c);
            }
        }
        return rest == null ? null : withCandidates(fresh, rest);
    }

    /** The result with other candidates; the candidates themselves are shared, not copied (a builder would deep-copy). */
    static RecallResult withCandidates(RecallResult r, List<Candidate> candidates) {
        return new RecallResult(r.getUserId(), r.getModelVersion(), candidates, r.getComputedAt(), r.getSourceEventTime());
    }
}
