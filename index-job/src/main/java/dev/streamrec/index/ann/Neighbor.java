package dev.streamrec.index.ann;

/** One search hit: an item and its cosine similarity to the query (higher is closer, in [-1, 1]). */
public record Neighbor(String itemId, float score) {
}
