/**
 * Nearest-neighbour indexes over item vectors: the HNSW index a shard keeps per model version, and exact search.
 *
 * <ul>
 *   <li>{@link dev.streamrec.index.ann.VectorIndex}: what both indexes do (versioned upsert/remove, top-k search by
 *       cosine with an exclusion predicate), so tests and benchmarks run the same code against either.</li>
 *   <li>{@link dev.streamrec.index.ann.ShardVectorIndex}: one hnswlib-core HNSW graph over one shard's items of one
 *       model version; capacity growth, compaction in the caller's thread or in the background
 *       ({@link dev.streamrec.index.ann.BackgroundCompaction}), bulk build. {@code HnswGraph} is the graph with its
 *       node count.</li>
 *   <li>{@link dev.streamrec.index.ann.IndexSnapshotCodec}: a {@code ShardVectorIndex} as snapshot bytes and back,
 *       graph included ({@code ItemCodec} writes the items inside hnswlib's stream, {@code Frames} delimits it).</li>
 *   <li>{@link dev.streamrec.index.ann.BruteForceIndex}: exact cosine top-k, the reference for tests and benchmarks.</li>
 *   <li>{@link dev.streamrec.index.ann.TopK#mergeTopK}: merges the shards' best-first answers.</li>
 *   <li>{@link dev.streamrec.index.ann.Sharding#shardOf}: item id to shard (murmur3 of the UTF-8 id, stable).</li>
 *   <li>{@link dev.streamrec.index.ann.VectorMath}: dot products and unit-length copies.</li>
 *   <li>{@link dev.streamrec.index.ann.ClusteredVectors}: seeded synthetic clustered vectors for tests and
 *       benchmarks.</li>
 * </ul>
 *
 * <h2>For the operator that owns a {@code ShardVectorIndex}</h2>
 * <ul>
 *   <li><b>Threads.</b> Use an index from one thread (the operator's). Nothing in it blocks on other threads, except
 *       {@code build(..., threads)} and {@code compact(threads)} with more than one thread, which run hnswlib's
 *       parallel insert and return when done. A background compaction
 *       ({@link dev.streamrec.index.ann.ShardVectorIndex#compactInBackground}) runs on the executor the operator
 *       passes and owns; call {@code cancelCompaction()} and shut the executor down in {@code close()}.</li>
 *   <li><b>Input.</b> {@code upsert} rejects (IllegalArgumentException) a wrong dimension, NaN/infinite components,
 *       a zero vector and an empty id: validate before, and dead-letter such records. Vectors are stored
 *       normalised, so scores are cosine similarities. Versions: an update older than the item's current version
 *       (or than its delete) is ignored, but compaction forgets deleted items' versions, so the durable state in
 *       front of the index must order updates.</li>
 *   <li><b>Deletes.</b> A removed item is never returned, before or after compaction, growth or a snapshot round
 *       trip. Its node stays in the graph (and in memory) until the next compaction.</li>
 *   <li><b>Memory.</b> About 660-670 bytes of heap per live item at 64 dimensions and m = 16 (the vector is 256 of
 *       them), plus deleted nodes until compaction, plus up to 50% unused capacity slots (8 bytes each). Two model
 *       versions during a rollover hold two indexes; a background compaction holds the old and the new graph of that
 *       shard until it swaps. The index lives on the JVM heap, not in RocksDB's managed memory.</li>
 *   <li><b>Compaction pauses.</b> Compaction rebuilds the graph at the build rate (measured on the project's shared
 *       2-core machine: 1,600 to 2,400 items per second on one thread; hnswlib's multi-threaded insert into one graph
 *       was slower than one thread there), so a synchronous compaction of a 125,000-item shard (1M items in 8 shards)
 *       stalls the operator for over a minute (78 s measured). Either give the index an executor
 *       ({@code compactInBackground}) or raise {@code compactionThreshold} so it is rare; the defaults compact at
 *       30% deleted nodes.</li>
 *   <li><b>Restore.</b> Loading a snapshot ({@code IndexSnapshotCodec}, about 380-400 bytes per item) takes 0.27 s
 *       for a 125,000-item shard against 78 s to rebuild it from the items, and returns the same graph, so searches
 *       answer exactly as before. Rebuilding ({@code build}) is the fallback when no snapshot
 *       exists; a snapshot older than the keyed state is brought up to date by diffing {@code forEachItem}'s ids and
 *       versions against the state and applying the differences.</li>
 *   <li><b>Search cost.</b> A search visits roughly ef x 2m nodes whatever k is below ef (defaults: ef 200), so one
 *       top-200 query costs about as much as a top-10; a query that excludes ids asks for a few more internally.</li>
 * </ul>
 */
package dev.streamrec.index.ann;
