package dev.streamrec.jobs.io;

import java.io.Serializable;
import java.nio.charset.StandardCharsets;
import java.util.List;

import dev.streamrec.avro.ItemEmbedding;
import dev.streamrec.avro.ItemStatus;

/**
 * What a tombstone (a record with a null value) means on an input topic, for topics where Kafka's delete convention
 * applies; the record it stands for is validated like any other.
 */
@FunctionalInterface
public interface Tombstones<T> extends Serializable {
    /** Model version of an item delete that comes from a tombstone: a delete removes every version of the item. */
    String ALL_VERSIONS = "*";

    T recordFor(RawRecord tombstone);

    /**
     * On the compacted item-embeddings topic a tombstone deletes its key's item (every version), at the record's
     * timestamp; without a key it has no item (a missing id).
     */
    static Tombstones<ItemEmbedding> itemDeletes() {
        return raw -> ItemEmbedding.newBuilder()
                .setItemId(raw.key == null ? "" : new String(raw.key, StandardCharsets.UTF_8))
                .setModelVersion(ALL_VERSIONS)
                .setVector(List.of())
                .setTags(List.of())
                .setStatus(ItemStatus.DELETED)
                .setEventTime(raw.timestamp)
                .build();
    }
}
