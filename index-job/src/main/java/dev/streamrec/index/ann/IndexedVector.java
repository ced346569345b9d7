package dev.streamrec.index.ann;

/**
 * An item's vector with the version of the update that set it (e.g. the update's event time or a per-item counter),
 * the input of {@link ShardVectorIndex#build}.
 */
public record IndexedVector(String itemId, float[] vector, long version) {
}
