package dev.streamrec.seen;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import dev.streamrec.avro.SeenItem;
import dev.streamrec.avro.SeenSet;

/** Every item the user was shown with its latest impression time and that impression's hash: exact, and large. */
final class ExactSeenSet extends SeenTracker {
    private final Map<String, SeenItem> items;
    private long newestSeen;

    ExactSeenSet(SeenPolicy policy) {
        super(policy);
        items = new HashMap<>();
    }

    ExactSeenSet(SeenPolicy policy, SeenSet record) {
        super(policy);
        items = new HashMap<>(record.getItems().size() * 2);
        for (SeenItem item : record.getItems()) {
            items.put(item.getItemId(), item);
        }
        newestSeen = record.getNewestSeen();
    }

    @Override
    public Outcome record(String itemId, String impressionId, long eventTime) {
        int impression = hash(impressionId);
        SeenItem known = items.get(itemId);
        if (known != null && known.getImpression() == impression) {
            return Outcome.DUPLICATE;
        }
        if (known != null) {
            if (eventTime >= known.getSeenAt()) {
                known.setSeenAt(eventTime);
                known.setImpression(impression);
            }
        } else {
            items.put(itemId, new SeenItem(itemId, eventTime, impression));
            if (items.size() > policy.maxItems()) {
                forgetOldest();
            }
        }
        newestSeen = Math.max(newestSeen, eventTime);
        return Outcome.RECORDED;
    }

    private void forgetOldest() {
        SeenItem oldest = null;
        for (SeenItem item : items.values()) {
            if (oldest == null || item.getSeenAt() < oldest.getSeenAt()) {
                oldest = item;
            }
        }
        items.remove(oldest.getItemId());
        forgotten++;
    }

    @Override
    public long seenUntil(String itemId) {
        SeenItem item = items.get(itemId);
        return item == null ? Long.MIN_VALUE : until(item.getSeenAt());
    }

    @Override
    public void expire(long now) {
        items.values().removeIf(item -> until(item.getSeenAt()) <= now);
    }

    @Override
    public long nextExpiry() {
        long next = Long.MAX_VALUE;
        for (SeenItem item : items.values()) {
            next = Math.min(next, until(item.getSeenAt()));
        }
        return next;
    }

    @Override
    public int size() {
        return items.size();
    }

    @Override
    public double falsePositiveRate() {
        return 0;
    }

    @Override
    public long newestSeen() {
        return newestSeen;
    }

    @Override
    public SeenSet toRecord() {
        List<SeenItem> ordered = new ArrayList<>(items.values());
        ordered.sort(Comparator.comparingLong(SeenItem::getSeenAt));
        return SeenSet.newBuilder()
                .setRepresentation(SeenPolicy.Representation.EXACT.recordName())
                .setItems(ordered)
                .setNewestSeen(newestSeen)
                .setPeriodMs(policy.periodMs())
                .build();
    }
}
