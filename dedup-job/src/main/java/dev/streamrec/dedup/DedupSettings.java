package dev.streamrec.dedup;

import java.io.Serializable;

import dev.streamrec.jobs.config.JobConfig;
import dev.streamrec.seen.SeenPolicy;

/** What the fresh-recall filter needs from the options, checked once when the job is built. */
public record DedupSettings(SeenPolicy seen, int minFresh, long refillTimeoutMs, long batchDelayMs, int batchMaxImpressions,
                            long userTtlMs)
        implements Serializable {

    public DedupSettings {
        if (minFresh < 0 || refillTimeoutMs <= 0 || batchDelayMs < 0 || batchMaxImpressions < 1 || userTtlMs <= 0) {
            throw new IllegalArgumentException("dedup options out of range: min-fresh " + minFresh + ", refill timeout "
                    + refillTimeoutMs + ", batch delay " + batchDelayMs + ", batch size " + batchMaxImpressions
                    + ", user ttl " + userTtlMs);
        }
    }

    public static DedupSettings from(JobConfig config) {
        SeenPolicy policy = new SeenPolicy(
                SeenPolicy.Representation.of(config.get(DedupOptions.REPRESENTATION)),
                config.getLong(DedupOptions.PERIOD_MS),
                config.getInt(DedupOptions.MAX_SEEN_ITEMS),
                config.getInt(DedupOptions.HOT_ITEMS),
                config.getLong(DedupOptions.LAYER_SPAN_MS),
                config.getInt(DedupOptions.FIRST_LAYER_CAPACITY),
                config.getInt(DedupOptions.MAX_LAYERS),
                config.getDouble(DedupOptions.FALSE_POSITIVE_RATE));
        return new DedupSettings(policy, config.getInt(DedupOptions.MIN_FRESH),
                config.getLong(DedupOptions.REFILL_TIMEOUT_MS), config.getLong(DedupOptions.BATCH_MAX_DELAY_MS),
                config.getInt(DedupOptions.BATCH_MAX_IMPRESSIONS), config.getLong(DedupOptions.USER_TTL_MS));
    }
}
