package dev.streamrec.seen;

import java.io.Serializable;

/**
 * How a user's seen set is kept: for how long an impression counts ({@code periodMs}, event time), how many items at
 * most ({@code maxItems}, the oldest forgotten first), which representation new sets use, and the compact one's
 * shape.
 *
 * @param representation   the representation of sets created from now on (a stored set keeps its own)
 * @param periodMs         an item shown at t counts as seen while t + periodMs is later than "now" (event time)
 * @param maxItems         at most this many items per user; beyond it the oldest are forgotten
 * @param hotItems         compact: the most recent impressions kept exactly (duplicate check, exact times)
 * @param layerSpanMs      compact: a Bloom layer takes impressions for at most this long (event time), then a new
 *                         one opens; an item may count as seen up to this much longer than the period
 * @param firstLayerCapacity compact: the capacity of a user's first layer; later ones adapt to the user's rate
 * @param maxLayers        compact: the live layers the bound is planned for (what the period needs at a steady
 *                         rate: the period over the span, plus one); a layer gets at least
 *                         {@code falsePositiveRate / maxLayers} at capacity, more when older ones used less
 * @param falsePositiveRate compact: the bound on the rate at which an unseen item is taken for seen: the live
 *                         layers' rates add up to at most this, which bounds their OR
 */
public record SeenPolicy(
        Representation representation,
        long periodMs,
        int maxItems,
        int hotItems,
        long layerSpanMs,
        int firstLayerCapacity,
        int maxLayers,
        double falsePositiveRate) implements Serializable {

    public enum Representation {
        EXACT, COMPACT;

        public String recordName() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }

        public static Representation of(String name) {
            return valueOf(name.trim().toUpperCase(java.util.Locale.ROOT));
        }
    }

    public static final long DAY_MS = 24L * 3600 * 1000;

    public SeenPolicy {
        require(periodMs > 0, "period must be positive");
        require(maxItems > 0, "maxItems must be positive");
        require(hotItems >= 0 && hotItems <= maxItems, "hotItems must be in [0, maxItems]");
        require(layerSpanMs > 0, "layerSpanMs must be positive");
        require(firstLayerCapacity > 0, "firstLayerCapacity must be positive");
        require(maxLayers > 0, "maxLayers must be positive");
        require(falsePositiveRate > 0 && falsePositiveRate < 1, "falsePositiveRate must be in (0, 1)");
    }

    /**
     * The defaults: 7 days, 2,000 items, compact with 4 hot items, one layer per 3.5 days planned for 3 live (a layer
     * lives its span plus the period), a first layer of 256, at most 1% false positives. Chosen by measurement
     * (docs/architecture.md, dedup-job): each layer's share of the bound shrinks with their number, so daily layers
     * cost 1.5x the bytes at 500 items a week.
     */
    public static SeenPolicy defaults() {
        return new SeenPolicy(Representation.COMPACT, 7 * DAY_MS, 2000, 4, 84 * 3600_000L, 256, 3, 0.01);
    }

    public SeenPolicy withRepresentation(Representation r) {
        return new SeenPolicy(r, periodMs, maxItems, hotItems, layerSpanMs, firstLayerCapacity, maxLayers, falsePositiveRate);
    }

    public SeenPolicy withPeriod(long period, long layerSpan) {
        return new SeenPolicy(representation, period, maxItems, hotItems, layerSpan, firstLayerCapacity, maxLayers, falsePositiveRate);
    }

    /** The least false-positive rate a Bloom layer is sized for at its capacity (when every layer uses its share). */
    public double layerFalsePositiveRate() {
        return falsePositiveRate / maxLayers;
    }

    private static void require(boolean ok, String message) {
        if (!ok) {
            throw new IllegalArgumentException(message);
        }
    }
}
