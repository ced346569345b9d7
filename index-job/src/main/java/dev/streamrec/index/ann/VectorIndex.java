package dev.streamrec.index.ann;

import java.util.List;
import java.util.Set;
import java.util.function.Predicate;

/**
 * Items' vectors of one model version, searchable by cosine similarity. Implemented by the HNSW index a shard keeps
 * ({@link ShardVectorIndex}, approximate) and by exact search ({@link BruteForceIndex}, the reference), so tests and
 * benchmarks run the same code against either. Vectors are stored as unit-length copies, so scores are cosines. Each
 * item carries the version of the update that set it; an update older than the item's current version is ignored.
 */
public interface VectorIndex {

    int dimension();

    /** Live items. */
    int size();

    /**
     * Inserts the item or replaces its vector.
     *
     * @return false when ignored because {@code version} is lower than the item's current version
     * @throws IllegalArgumentException for a vector of another dimension, with NaN or infinite values, or of zero
     *                                  length
     */
    boolean upsert(String itemId, float[] vector, long version);

    /**
     * Removes the item; it is never returned by a search afterwards.
     *
     * @return false when the item is absent or has a higher version than {@code version}
     */
    boolean remove(String itemId, long version);

    boolean contains(String itemId);

    /**
     * The {@code k} live items most similar to {@code query}, best first, skipping ids {@code exclude} accepts (they
     * do not count toward {@code k}). A zero query has no direction and returns an empty list.
     *
     * @param exclude ids to leave out, or null
     * @throws IllegalArgumentException for a query of another dimension
     */
    List<Neighbor> search(float[] query, int k, Predicate<String> exclude);

    /**
     * Like {@link #search(float[], int, Predicate)}, leaving out the ids of {@code excluded}. Knowing them, an
     * approximate index asks its graph for as many more results as it holds excluded items, so that one search
     * finds the k best others whenever the index holds that many; an empty set (or one the index holds none of) is a
     * search without exclusions.
     */
    default List<Neighbor> searchExcluding(float[] query, int k, Set<String> excluded) {
        return search(query, k, excluded.isEmpty() ? null : excluded::contains);
    }
}
