package dev.streamrec.tools;

/** How many items of a model version the index holds now: what {@code bin/publish-embeddings} waits on. */
public interface IndexItemCount {
    /** The version's live items over all shards; throws when the count cannot be read now (no job, REST down). */
    long items(String version) throws Exception;

    /** Where the count comes from, for messages. */
    String describe();
}
