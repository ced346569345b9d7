/** Nearest-neighbour indexes over item vectors: the HNSW index a shard keeps per model version, and exact search. */
package dev.streamrec.index.ann;
