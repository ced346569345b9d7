package dev.streamrec.index.bench;

import java.util.LinkedHashMap;
import java.util.Map;

import dev.streamrec.index.ann.bench.AnnComparison;
import dev.streamrec.local.bench.BenchReport;

/**
 * (a) brute force and (b) one raw hnswlib-core index outside Flink, on the benchmark's data, plus our shard index
 * in memory (8 {@code ShardVectorIndex}es, no Flink) and one shard's snapshot-vs-rebuild figures: what
 * {@link AnnComparison} measures, as the benchmark's JSON.
 */
final class StandaloneComparison {
    private StandaloneComparison() {}

    static Map<String, Object> run(int items, int dimension, int shards, int queries, long seed) {
        AnnComparison.Options defaults = AnnComparison.Options.defaults();
        AnnComparison.Options options = new AnnComparison.Options(items, dimension, shards, queries,
                defaults.latencyQueries(), defaults.k(), seed, defaults.m(), defaults.efConstruction(), defaults.ef(),
                defaults.rebuildThreads(), defaults.rawCosine(), false);
        AnnComparison.AnnFigures f = AnnComparison.run(options);
        System.out.println(f.toText());
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("brute_force", system(f.bruteForce()));
        out.put("raw_hnswlib", system(f.rawHnsw()));
        out.put("sharded_in_memory", system(f.sharded()));
        out.put("sharded_in_memory_build_ratio_vs_raw", BenchReport.round(f.shardedBuildRateRatioVsRaw(), 3));
        AnnComparison.RestoreFigures r = f.restore();
        Map<String, Object> restore = new LinkedHashMap<>();
        restore.put("shard_items", r.shardItems());
        restore.put("snapshot_bytes", r.snapshotBytes());
        restore.put("snapshot_write_ms", BenchReport.round(r.snapshotWriteMs(), 0));
        restore.put("snapshot_read_ms", BenchReport.round(r.snapshotReadMs(), 0));
        restore.put("snapshot_search_identical", r.snapshotSearchIdentical());
        restore.put("rebuild_threads", r.rebuildThreads());
        restore.put("rebuild_ms", BenchReport.round(r.rebuildMs(), 0));
        out.put("one_shard_restore", restore);
        out.put("options", f.options().toString());
        return out;
    }

    private static Map<String, Object> system(AnnComparison.SystemFigures s) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("build_items_per_s", BenchReport.round(s.buildItemsPerSecond(), 0));
        m.put("build_items_per_cpu_s", BenchReport.round(s.buildItemsPerCpuSecond(), 0));
        m.put("recall_at_10", BenchReport.round(s.recallAt10(), 4));
        m.put("search_p50_ms", BenchReport.round(s.searchP50Ms(), 3));
        m.put("search_p99_ms", BenchReport.round(s.searchP99Ms(), 3));
        m.put("bytes_per_item", BenchReport.round(s.heapBytesPerItem(), 0));
        return m;
    }
}
