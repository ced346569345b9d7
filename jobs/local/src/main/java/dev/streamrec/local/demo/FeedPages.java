package dev.streamrec.local.demo;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;

import dev.streamrec.avro.ActionType;
import dev.streamrec.avro.Candidate;
import dev.streamrec.avro.Impression;
import dev.streamrec.avro.RecallResult;
import dev.streamrec.avro.UserAction;

/**
 * The local stack's stand-in for a feed server: it shows a user a page of the top candidates of their fresh recall
 * and logs one impression per item shown, as a feed server writes to {@code impressions}. dedup-job then takes the
 * items out of the user's fresh recall, which shrinks page by page until it asks index-job for a refill. The user
 * clicks some of what they are shown (the top of the page more often), so joiner-job has positives to join.
 */
public final class FeedPages {
    public static final int PAGE_SIZE = 10;

    /** Click-through rate of the first position; position p gets CLICK_RATE / (p + 1). */
    static final double CLICK_RATE = 0.3;
    /** A click comes up to this long after its impression (event time). */
    static final long MAX_CLICK_DELAY_MS = 20_000;

    private final Random random = new Random(7);
    private long requestSeq;

    /** The impressions of one page: the first {@code size} candidates of {@code fresh}, shown at {@code now}. */
    public List<Impression> page(RecallResult fresh, int size, long now) {
        String requestId = "feed-" + fresh.getUserId() + "-" + requestSeq++;
        List<Impression> impressions = new ArrayList<>(size);
        List<Candidate> candidates = fresh.getCandidates();
        for (int p = 0; p < Math.min(size, candidates.size()); p++) {
            Candidate c = candidates.get(p);
            impressions.add(new Impression(requestId + "-" + p, requestId, fresh.getUserId(), c.getItemId(), p,
                    c.getChannel(), fresh.getModelVersion(), null, Map.of("recallScore", c.getScore()), now));
        }
        return impressions;
    }

    /** The clicks the user makes on a page: the action names the page's request, so joiner-job joins it exactly. */
    public List<UserAction> clicks(List<Impression> page) {
        List<UserAction> clicks = new ArrayList<>();
        for (Impression i : page) {
            if (random.nextDouble() < CLICK_RATE / (i.getPosition() + 1)) {
                long at = i.getEventTime() + 1 + (long) (random.nextDouble() * MAX_CLICK_DELAY_MS);
                clicks.add(new UserAction("click-" + i.getImpressionId(), i.getUserId(), i.getItemId(), ActionType.CLICK,
                        1.0, at, i.getRequestId()));
            }
        }
        return clicks;
    }
}
