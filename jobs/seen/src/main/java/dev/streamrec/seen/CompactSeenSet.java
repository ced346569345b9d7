package dev.streamrec.seen;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.DoubleSupplier;

import com.google.common.hash.BloomFilter;
import com.google.common.hash.Funnels;

import dev.streamrec.avro.BloomLayer;
import dev.streamrec.avro.SeenSet;

/**
 * The compact seen set: the latest {@code hotItems} impressions exactly (12 bytes each: item hash, seconds after a
 * base time, impression hash; they catch client retries and answer with exact times), older ones in layers, each
 * taking impressions for at most {@code layerSpanMs} of event time. A layer is the list of its items' 32-bit hashes
 * while they are few (exact, 4 bytes each) and a Bloom filter (Guava's {@link BloomFilter} over the hash) once that
 * is smaller. A lookup is the OR of the hot tier and the live layers; a layer leaves when its newest impression is
 * a period old, so an item counts as seen for at least the period and at most a layer span longer.
 *
 * <p>False positives: a layer's Bloom filter is sized, at its capacity, when its list becomes one: for what the older
 * live layers leave of {@code falsePositiveRate} (each counted at its actual rate, from its bits) divided by the
 * layers still to come of {@code maxLayers}; a layer takes no more items than its capacity. So the live layers'
 * rates add up to at most {@code falsePositiveRate}, which bounds the OR of them; two items colliding on their 32-bit
 * hash add about {@code size / 2^32}. There are no false negatives within the period (the item cap aside).
 *
 * <p>Layer capacity adapts to the user's rate: the first is {@code firstLayerCapacity}; each next one is what the
 * previous layer's rate projects for a whole span, with a sixteenth to spare (a layer that filled up early at least
 * doubles); none exceeds half the item cap. A user whose rate rose opens layers early: each gets what is left of the
 * bound, and when that is less than a quarter of a share, the oldest are forgotten, as the cap does.
 */
final class CompactSeenSet extends SeenTracker {
    private static final int HOT_ENTRY_BYTES = 12;
    private static final int MIN_LAYER_CAPACITY = 32;
    /** Capacities are rounded up to this (a Bloom filter's bits come in 64-bit words: about 8 items' worth). */
    private static final int CAPACITY_STEP = 8;
    private static final ByteBuffer EMPTY = ByteBuffer.allocate(0);

    private int[] hotItem;
    private int[] hotSeconds;
    private int[] hotImpression;
    private int hotCount;
    private long hotBase;
    private final List<Layer> layers;
    private long newestSeen;

    CompactSeenSet(SeenPolicy policy) {
        super(policy);
        allocateHot(Math.max(policy.hotItems(), 1));
        layers = new ArrayList<>();
    }

    CompactSeenSet(SeenPolicy policy, SeenSet record) {
        super(policy);
        ByteBuffer hot = record.getHot().duplicate();
        int entries = hot.remaining() / HOT_ENTRY_BYTES;
        allocateHot(Math.max(Math.max(policy.hotItems(), entries), 1));
        for (int i = 0; i < entries; i++) {
            hotItem[i] = hot.getInt();
            hotSeconds[i] = hot.getInt();
            hotImpression[i] = hot.getInt();
        }
        hotCount = entries;
        hotBase = record.getHotBase();
        layers = new ArrayList<>(record.getLayers().size() + 1);
        for (BloomLayer layer : record.getLayers()) {
            layers.add(new Layer(layer, listLimit(layer.getCapacity())));
        }
        newestSeen = record.getNewestSeen();
        // A policy with fewer hot items than the stored set: the surplus moves into the layers.
        while (hotCount > policy.hotItems()) {
            evictOldestHot();
        }
    }

    private void allocateHot(int capacity) {
        hotItem = new int[capacity];
        hotSeconds = new int[capacity];
        hotImpression = new int[capacity];
    }

    @Override
    public Outcome record(String itemId, String impressionId, long eventTime) {
        int item = hash(itemId);
        int impression = hash(impressionId);
        newestSeen = Math.max(newestSeen, eventTime);
        for (int i = 0; i < hotCount; i++) {
            if (hotItem[i] == item) {
                if (hotImpression[i] == impression) {
                    return Outcome.DUPLICATE;
                }
                if (eventTime > hotTime(i)) {
                    // A later impression of a hot item: it becomes the newest entry.
                    removeHot(i);
                    appendHot(item, eventTime, impression);
                }
                return Outcome.RECORDED;
            }
        }
        if (policy.hotItems() == 0) {
            addToLayers(item, eventTime);
        } else {
            if (hotCount == policy.hotItems()) {
                evictOldestHot();
            }
            appendHot(item, eventTime, impression);
        }
        enforceCap();
        return Outcome.RECORDED;
    }

    private long hotTime(int i) {
        return hotBase + hotSeconds[i] * 1000L;
    }

    private void appendHot(int item, long eventTime, int impression) {
        if (hotCount == 0) {
            hotBase = eventTime;
        }
        // Seconds rounded up: the stored time is never earlier than the impression (no false negative at the end).
        long seconds = Math.floorDiv(eventTime - hotBase + 999, 1000);
        if (seconds > Integer.MAX_VALUE || seconds < Integer.MIN_VALUE) {
            addToLayers(item, eventTime);
            return;
        }
        hotItem[hotCount] = item;
        hotSeconds[hotCount] = (int) seconds;
        hotImpression[hotCount] = impression;
        hotCount++;
    }

    private void removeHot(int i) {
        int tail = hotCount - i - 1;
        System.arraycopy(hotItem, i + 1, hotItem, i, tail);
        System.arraycopy(hotSeconds, i + 1, hotSeconds, i, tail);
        System.arraycopy(hotImpression, i + 1, hotImpression, i, tail);
        hotCount--;
    }

    private void evictOldestHot() {
        addToLayers(hotItem[0], hotTime(0));
        removeHot(0);
    }

    private void addToLayers(int item, long seenAt) {
        Layer open = layers.isEmpty() ? null : layers.get(layers.size() - 1);
        if (open == null || open.count >= open.capacity || seenAt >= open.firstSeen + policy.layerSpanMs()) {
            open = openLayer(open, seenAt);
        }
        open.add(item, seenAt, this::newestLayerBudget);
    }

    private Layer openLayer(Layer previous, long seenAt) {
        int capacity = previous == null ? policy.firstLayerCapacity() : nextCapacity(previous);
        while (layers.size() >= maxLiveLayers()) {
            forgotten += layers.remove(0).count;
        }
        int sized = Math.min(capacity, largestCapacity());
        Layer layer = new Layer(seenAt, sized, listLimit(sized));
        layers.add(layer);
        return layer;
    }

    /**
     * The most hashes a layer of {@code capacity} keeps as a list: 4 bytes each, it stays a list while that is no
     * larger than a Bloom filter for the capacity at the layers' least share of the bound.
     */
    private int listLimit(int capacity) {
        double bits = -capacity * Math.log(policy.layerFalsePositiveRate()) / (Math.log(2) * Math.log(2));
        return (int) (Math.ceil(bits / 64) * 8 / 4);
    }

    /**
     * The false-positive rate the newest layer's Bloom filter is sized for when its list becomes one: what the older
     * live layers leave of the set's bound (each at its actual rate, from its bits: a layer that closed before it
     * filled up uses less than it was given), shared among the layers still to come. The live layers' rates then
     * never add up to more than the bound. When the older layers leave less than a quarter of a layer's share, the
     * oldest go (forgotten, as the cap does).
     */
    private double newestLayerBudget() {
        double rate = budgetAfter(layers.size() - 1);
        while (rate < policy.layerFalsePositiveRate() / 4 && layers.size() > 1) {
            forgotten += layers.remove(0).count;
            rate = budgetAfter(layers.size() - 1);
        }
        return rate;
    }

    private double budgetAfter(int older) {
        double used = 0;
        for (int i = 0; i < older; i++) {
            used += layers.get(i).falsePositiveRate();
        }
        return Math.max(0, policy.falsePositiveRate() - used) / Math.max(1, policy.maxLayers() - older);
    }

    /**
     * The most layers kept: the bound is planned for {@code maxLayers} (what the period and span need at a steady
     * rate); a user whose rate rose closes layers early and may have more, each sized for what is left of the bound,
     * until that is less than a quarter of a share (then the oldest go). This caps their headers.
     */
    private int maxLiveLayers() {
        return 4 * policy.maxLayers();
    }

    /**
     * The capacity of the layer after {@code previous}: what the user's rate in it projects for a whole span, with
     * a sixteenth to spare (a layer sized for more than it gets wastes bits; one sized for less closes early and
     * opens another). A layer that filled up before its span ended projects from the time it took, and at least
     * doubles.
     */
    private int nextCapacity(Layer previous) {
        long span = policy.layerSpanMs();
        long elapsed = Math.max(previous.lastSeen - previous.firstSeen, 60_000);
        double projected = previous.count >= previous.capacity && elapsed < span
                ? Math.max(2.0 * previous.count, (double) previous.count * span / elapsed)
                : previous.count;
        return roundUp((int) Math.min(Integer.MAX_VALUE / 2, projected * 17 / 16), CAPACITY_STEP);
    }

    /** At most half the cap, so the cap forgets a layer at a time and keeps the newer half. */
    private int largestCapacity() {
        return Math.max(MIN_LAYER_CAPACITY, (policy.maxItems() - policy.hotItems()) / 2);
    }

    private static int roundUp(int n, int multiple) {
        return (n + multiple - 1) / multiple * multiple;
    }

    private void enforceCap() {
        while (size() > policy.maxItems() && !layers.isEmpty()) {
            forgotten += layers.remove(0).count;
        }
    }

    @Override
    public long seenUntil(String itemId) {
        int item = hash(itemId);
        long seenAt = Long.MIN_VALUE;
        for (int i = 0; i < hotCount; i++) {
            if (hotItem[i] == item) {
                seenAt = Math.max(seenAt, hotTime(i));
            }
        }
        for (Layer layer : layers) {
            if (layer.lastSeen > seenAt && layer.mightContain(item)) {
                seenAt = layer.lastSeen;
            }
        }
        return seenAt == Long.MIN_VALUE ? Long.MIN_VALUE : until(seenAt);
    }

    @Override
    public void expire(long now) {
        int kept = 0;
        for (int i = 0; i < hotCount; i++) {
            if (until(hotTime(i)) > now) {
                hotItem[kept] = hotItem[i];
                hotSeconds[kept] = hotSeconds[i];
                hotImpression[kept] = hotImpression[i];
                kept++;
            }
        }
        hotCount = kept;
        layers.removeIf(layer -> until(layer.lastSeen) <= now);
    }

    @Override
    public long nextExpiry() {
        long next = Long.MAX_VALUE;
        for (int i = 0; i < hotCount; i++) {
            next = Math.min(next, until(hotTime(i)));
        }
        for (Layer layer : layers) {
            next = Math.min(next, until(layer.lastSeen));
        }
        return next;
    }

    @Override
    public int size() {
        int size = hotCount;
        for (Layer layer : layers) {
            size += layer.count;
        }
        return size;
    }

    @Override
    public double falsePositiveRate() {
        double none = 1;
        for (Layer layer : layers) {
            none *= 1 - layer.falsePositiveRate();
        }
        return 1 - none + (double) size() / (1L << 32);
    }

    @Override
    public long newestSeen() {
        return newestSeen;
    }

    @Override
    public SeenSet toRecord() {
        ByteBuffer hot = ByteBuffer.allocate(hotCount * HOT_ENTRY_BYTES);
        for (int i = 0; i < hotCount; i++) {
            hot.putInt(hotItem[i]).putInt(hotSeconds[i]).putInt(hotImpression[i]);
        }
        hot.flip();
        List<BloomLayer> records = new ArrayList<>(layers.size());
        for (Layer layer : layers) {
            records.add(layer.toRecord());
        }
        return SeenSet.newBuilder()
                .setRepresentation(SeenPolicy.Representation.COMPACT.recordName())
                .setHot(hot)
                .setHotBase(hotCount == 0 ? 0 : hotBase)
                .setLayers(records)
                .setNewestSeen(newestSeen)
                .setPeriodMs(policy.periodMs())
                .build();
    }

    /**
     * One layer: the ascending 32-bit hashes of its items while they are few (exact, 4 bytes each), a Bloom filter
     * once that is smaller ({@code listLimit}). The filter is decoded on first use and encoded again only if it
     * changed.
     */
    private static final class Layer {
        long firstSeen;
        long lastSeen;
        int count;
        final int capacity;
        private final int listLimit;
        /** List form: the items' hashes, ascending, {@code count} of them; null once the layer is a Bloom filter. */
        private int[] hashes;
        private ByteBuffer encodedHashes;
        private ByteBuffer bits;
        private BloomFilter<Integer> filter;
        private boolean changed;

        Layer(long seenAt, int capacity, int listLimit) {
            this.firstSeen = seenAt;
            this.lastSeen = seenAt;
            this.capacity = capacity;
            this.listLimit = listLimit;
            this.hashes = new int[Math.min(listLimit, 16)];
            this.changed = true;
        }

        Layer(BloomLayer record, int listLimit) {
            firstSeen = record.getFirstSeen();
            lastSeen = record.getLastSeen();
            count = record.getCount();
            capacity = record.getCapacity();
            this.listLimit = listLimit;
            if (record.getBits().hasRemaining()) {
                bits = record.getBits();
            } else {
                encodedHashes = record.getHashes();
                ByteBuffer list = encodedHashes.duplicate();
                hashes = new int[list.remaining() / 4];
                for (int i = 0; i < hashes.length; i++) {
                    hashes[i] = list.getInt();
                }
                count = hashes.length;
            }
        }

        private BloomFilter<Integer> filter() {
            if (filter == null) {
                try {
                    filter = BloomFilter.readFrom(new ByteArrayInputStream(
                            bits.array(), bits.arrayOffset() + bits.position(), bits.remaining()), Funnels.integerFunnel());
                } catch (IOException e) {
                    throw new UncheckedIOException("corrupt Bloom layer", e);
                }
            }
            return filter;
        }

        /** The layer's own false-positive rate (a list has none: its hash collisions count for the whole set). */
        double falsePositiveRate() {
            return hashes != null ? 0 : filter().expectedFpp();
        }

        boolean mightContain(int item) {
            return hashes != null ? Arrays.binarySearch(hashes, 0, count, item) >= 0 : filter().mightContain(item);
        }

        /** Adds an item; a list that would pass its limit becomes a Bloom filter sized at {@code budget}'s rate. */
        void add(int item, long seenAt, DoubleSupplier budget) {
            firstSeen = Math.min(firstSeen, seenAt);
            lastSeen = Math.max(lastSeen, seenAt);
            changed = true;
            if (hashes != null) {
                int at = Arrays.binarySearch(hashes, 0, count, item);
                if (at >= 0) {
                    return; // already in this layer: only its times move, it does not use capacity again
                }
                if (count < listLimit) {
                    if (count == hashes.length) {
                        hashes = Arrays.copyOf(hashes, Math.min(Math.max(2 * count, 16), listLimit));
                    }
                    int insert = -at - 1;
                    System.arraycopy(hashes, insert, hashes, insert + 1, count - insert);
                    hashes[insert] = item;
                    count++;
                    return;
                }
                toFilter(budget.getAsDouble());
            }
            if (filter().put(item)) {
                count++;
            }
        }

        private void toFilter(double rate) {
            filter = BloomFilter.create(Funnels.integerFunnel(), capacity, rate);
            for (int i = 0; i < count; i++) {
                filter.put(hashes[i]);
            }
            hashes = null;
            encodedHashes = null;
        }

        BloomLayer toRecord() {
            if (hashes != null) {
                if (changed || encodedHashes == null) {
                    ByteBuffer list = ByteBuffer.allocate(count * 4);
                    for (int i = 0; i < count; i++) {
                        list.putInt(hashes[i]);
                    }
                    list.flip();
                    encodedHashes = list;
                    changed = false;
                }
                return new BloomLayer(firstSeen, lastSeen, count, capacity, EMPTY, encodedHashes);
            }
            if (changed || bits == null) {
                ByteArrayOutputStream out = new ByteArrayOutputStream(16 + capacity * 2);
                try {
                    filter.writeTo(out);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
                bits = ByteBuffer.wrap(out.toByteArray());
                changed = false;
            }
            return new BloomLayer(firstSeen, lastSeen, count, capacity, bits, EMPTY);
        }
    }
}
