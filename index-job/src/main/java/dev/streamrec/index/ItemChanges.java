package dev.streamrec.index;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.LongSupplier;

import dev.streamrec.avro.ItemEmbedding;
import dev.streamrec.avro.ItemStatus;
import dev.streamrec.avro.ShardItem;
import dev.streamrec.avro.VersionedVector;
import dev.streamrec.index.ann.VectorMath;

/**
 * How one item-embeddings event changes an item's durable state, in event time: an upsert replaces the version's
 * vector unless a newer one (or a newer delete) is known; a delete removes every version whose vector is not newer
 * than the delete and leaves a tombstone. Replayed or reordered events therefore end in the same state.
 */
public final class ItemChanges {
    private ItemChanges() {}

    /** The item after the event, and which versions' index entries must be upserted or removed. */
    public record Change(ShardItem item, List<String> upserted, List<String> removed) {}

    /** The event's vector normalised, as {@link #apply} takes it: null for a delete (which carries none). */
    public static float[] unitVector(ItemEmbedding event) {
        return event.getVector().isEmpty() ? null : VectorMath.normalized(AvroVectors.fromList(event.getVector()));
    }

    /**
     * @param current    the item's state, or null if unknown
     * @param event      a validated event
     * @param unitVector the event's vector normalised (ACTIVE events), else null
     * @param nextSeq    issues the item's new index version (called once per upserted or removed version)
     * @return the change, or null when the event is older than what the state already reflects
     */
    public static Change apply(ShardItem current, ItemEmbedding event, float[] unitVector, LongSupplier nextSeq, long now) {
        ShardItem item = current != null ? current
                // A builder, not the all-fields constructor: a build whose ShardItem has more fields still runs this.
                : ShardItem.newBuilder().setItemId(event.getItemId()).setCategory(null).setTags(new ArrayList<>())
                        .setVersions(new HashMap<>()).setDeletedAt(0L).setUpdatedAt(now).build();
        long t = event.getEventTime();
        Map<String, VersionedVector> versions = item.getVersions();
        if (event.getStatus() == ItemStatus.DELETED) {
            if (item.getDeletedAt() >= t && current != null) {
                return null;
            }
            List<String> removed = new ArrayList<>();
            for (Map.Entry<String, VersionedVector> e : new ArrayList<>(versions.entrySet())) {
                if (e.getValue().getEventTime() <= t) {
                    versions.remove(e.getKey());
                    removed.add(e.getKey());
                }
            }
            item.setDeletedAt(t);
            item.setUpdatedAt(now);
            return new Change(item, List.of(), removed);
        }
        VersionedVector known = versions.get(event.getModelVersion());
        if (t <= item.getDeletedAt() || (known != null && known.getEventTime() > t)) {
            return null;
        }
        versions.put(event.getModelVersion(), new VersionedVector(AvroVectors.toBytes(unitVector), t, nextSeq.getAsLong()));
        item.setCategory(event.getCategory());
        item.setTags(new ArrayList<>(event.getTags()));
        item.setUpdatedAt(now);
        return new Change(item, List.of(event.getModelVersion()), List.of());
    }

    /** Drops a retired version's vector; true if the item had one. */
    public static boolean dropVersion(ShardItem item, String version) {
        return item.getVersions().remove(version) != null;
    }

    /** A tombstone (no live vector) older than the retention can go: no replay can be that old. */
    public static boolean isExpiredTombstone(ShardItem item, long now, long retentionMs) {
        return item.getVersions().isEmpty() && item.getUpdatedAt() + retentionMs <= now;
    }
}
