package dev.streamrec.local.demo;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import dev.streamrec.avro.Candidate;
import dev.streamrec.avro.Impression;
import dev.streamrec.avro.RecallResult;

/**
 * The local stack's stand-in for a feed server: it shows a user a page of the top candidates of their fresh recall
 * and logs one impression per item shown, as a feed server writes to {@code impressions}. dedup-job then takes the
 * items out of the user's fresh recall, which shrinks page by page until it asks index-job for a refill.
 */
public final class FeedPages {
    public static final int PAGE_SIZE = 10;

    private long requestSeq;

    /** The impressions of one page: the first {@code size} candidates of {@code fresh}, shown at {@code now}. */
    public List<Impression> page(RecallResult fresh, int size, long now) {
        String requestId = "feed-" + fresh.getUserId() + "-" + requestSeq++;
        List<Impression> impressions = new ArrayList<>(size);
        List<Candidate> candidates = fresh.getCandidates();
        for (int p = 0; p < Math.min(size, candidates.size()); p++) {
            Candidate c = candidates.get(p);
            impressions.add(new Impression(requestId + "-" + p, requestId, fresh.getUserId(), c.getItemId(), p,
                    c.getChannel(), fresh.getModelVersion(), null, Map.of(), now));
        }
        return impressions;
    }
}
