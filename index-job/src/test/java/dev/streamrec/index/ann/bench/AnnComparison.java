package dev.streamrec.index.ann.bench;

import java.io.ByteArrayInputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

import com.github.jelmerk.hnswlib.core.DistanceFunction;
import com.github.jelmerk.hnswlib.core.DistanceFunctions;
import com.github.jelmerk.hnswlib.core.Item;
import com.github.jelmerk.hnswlib.core.SearchResult;
import com.github.jelmerk.hnswlib.core.hnsw.HnswIndex;

import dev.streamrec.index.ann.BruteForceIndex;
import dev.streamrec.index.ann.ClusteredVectors;
import dev.streamrec.index.ann.IndexParams;
import dev.streamrec.index.ann.IndexSnapshotCodec;
import dev.streamrec.index.ann.IndexedVector;
import dev.streamrec.index.ann.Neighbor;
import dev.streamrec.index.ann.ShardVectorIndex;
import dev.streamrec.index.ann.Sharding;
import dev.streamrec.index.ann.TopK;
import dev.streamrec.index.ann.VectorIndex;
import dev.streamrec.index.ann.VectorMath;

/**
 * Side-by-side comparison on the same seeded clustered vectors: (a) exact brute force, (b) one raw hnswlib-core
 * {@link HnswIndex}, (c) {@code shards} {@link ShardVectorIndex}es in memory (what index-job keeps per model version),
 * plus the restore figures of one shard (snapshot write/read versus a bulk rebuild). Not a test.
 *
 * <p>Build rates are single-threaded incremental adds, as the Flink operator does them; they are given per wall
 * second and per CPU second of the building thread (the latter is steadier on a shared machine). Search latency is
 * a top-{@code k} (default 200) query: for (c) every shard is searched and the answers merged. Recall@10 is the merged
 * top-10 against the exact top-10; recall@k the same at k. Memory is heap used after GC, divided by the items.
 *
 * <p>Run (from the repository root; builds without installing anything):
 * <pre>
 * mvn -B -ntp -q -pl index-job -am test-compile dependency:build-classpath \
 *     -Dmdep.includeScope=test -Dmdep.outputFile=target/bench.classpath
 * java -Xmx6g -cp index-job/target/test-classes:index-job/target/classes:$(cat index-job/target/bench.classpath) \
 *     dev.streamrec.index.ann.bench.AnnComparison --items 100000 [--efc 200] [--json docs/bench/ann.json]
 * </pre>
 * {@code --help} lists every option. A later benchmark can call {@link #run(Options)} and embed the returned
 * {@link AnnFigures}.
 */
public final class AnnComparison {

    /** What to run. */
    public record Options(int items, int dimension, int shards, int queries, int latencyQueries, int k, long seed,
                          int m, int efConstruction, int ef, int rebuildThreads, boolean rawCosine,
                          boolean skipRaw) {

        public static Options defaults() {
            return new Options(1_000_000, 64, 8, 200, 1000, 200, 42, 16, IndexParams.defaults().efConstruction(),
                    IndexParams.defaults().ef(), 2, false, false);
        }

        IndexParams params() {
            return IndexParams.defaults().withM(m).withEfConstruction(efConstruction).withEf(ef);
        }
    }

    /** One system's figures. Latencies in milliseconds; NaN where a figure does not apply. */
    public record SystemFigures(String system, int items, double buildSeconds, double buildItemsPerSecond,
                                double buildItemsPerCpuSecond, double recallAt10, double recallAtK,
                                double searchP50Ms, double searchP99Ms, double searchMeanMs, double heapBytesPerItem) {
    }

    /** One shard's restore options: load its snapshot, or rebuild it from the items with {@code rebuildThreads}. */
    public record RestoreFigures(int shardItems, long snapshotBytes, double snapshotWriteMs, double snapshotReadMs,
                                 boolean snapshotSearchIdentical, int rebuildThreads, double rebuildMs,
                                 double rebuildItemsPerSecond, double rebuildOneThreadMs) {
    }

    /** Everything one run measured. */
    public record AnnFigures(Options options, String environment, SystemFigures bruteForce, SystemFigures rawHnsw,
                             SystemFigures sharded, RestoreFigures restore, double shardedBuildRateRatioVsRaw,
                             double totalSeconds) {

        public String toText() {
            StringBuilder b = new StringBuilder();
            Options o = options;
            b.append(String.format(Locale.ROOT, "ANN comparison: %,d items, %d-d, %d shards, k=%d, %d recall queries, "
                            + "%d latency queries, m=%d efConstruction=%d ef=%d, raw distance %s%n", o.items, o.dimension,
                    o.shards, o.k, o.queries, o.latencyQueries, o.m, o.efConstruction, o.ef,
                    o.rawCosine ? "cosine" : "inner product on unit vectors"));
            b.append(environment).append('\n');
            b.append(String.format(Locale.ROOT, "%-22s %10s %12s %14s %10s %10s %10s %10s %10s %10s%n", "system", "build s",
                    "items/s", "items/cpu-s", "recall@10", "recall@k", "p50 ms", "p99 ms", "mean ms", "B/item"));
            for (SystemFigures f : new SystemFigures[] {bruteForce, rawHnsw, sharded}) {
                if (f != null) {
                    b.append(String.format(Locale.ROOT, "%-22s %10.1f %,12.0f %,14.0f %10.4f %10.4f %10.2f %10.2f %10.2f %,10.0f%n",
                            f.system, f.buildSeconds, f.buildItemsPerSecond, f.buildItemsPerCpuSecond, f.recallAt10,
                            f.recallAtK, f.searchP50Ms, f.searchP99Ms, f.searchMeanMs, f.heapBytesPerItem));
                }
            }
            if (!Double.isNaN(shardedBuildRateRatioVsRaw)) {
                b.append(String.format(Locale.ROOT, "sharded build rate / raw hnswlib: %.2f (per CPU second: %.2f)%n",
                        shardedBuildRateRatioVsRaw, sharded.buildItemsPerCpuSecond / rawHnsw.buildItemsPerCpuSecond));
            }
            RestoreFigures r = restore;
            b.append(String.format(Locale.ROOT, "one shard (%,d items): snapshot %,d bytes (%.0f B/item), write %.0f ms, "
                            + "read %.0f ms (identical search: %s); bulk rebuild with %d threads %.0f ms (%,.0f items/s), "
                            + "with 1 thread %.0f ms%n",
                    r.shardItems, r.snapshotBytes, r.snapshotBytes / (double) Math.max(1, r.shardItems), r.snapshotWriteMs,
                    r.snapshotReadMs, r.snapshotSearchIdentical, r.rebuildThreads, r.rebuildMs, r.rebuildItemsPerSecond,
                    r.rebuildOneThreadMs));
            b.append(String.format(Locale.ROOT, "total %.0f s%n", totalSeconds));
            return b.toString();
        }

        public String toJson() {
            StringBuilder b = new StringBuilder("{\n");
            Options o = options;
            b.append(String.format(Locale.ROOT, "  \"options\": {\"items\": %d, \"dimension\": %d, \"shards\": %d, \"queries\": %d, "
                            + "\"latency_queries\": %d, \"k\": %d, \"seed\": %d, \"m\": %d, \"ef_construction\": %d, \"ef\": %d, "
                            + "\"rebuild_threads\": %d, \"raw_distance\": \"%s\"},%n", o.items, o.dimension, o.shards, o.queries,
                    o.latencyQueries, o.k, o.seed, o.m, o.efConstruction, o.ef, o.rebuildThreads,
                    o.rawCosine ? "cosine" : "inner_product"));
            b.append("  \"environment\": \"").append(environment.replace("\"", "'")).append("\",\n");
            appendSystem(b, "brute_force", bruteForce);
            appendSystem(b, "raw_hnsw", rawHnsw);
            appendSystem(b, "sharded", sharded);
            RestoreFigures r = restore;
            b.append(String.format(Locale.ROOT, "  \"restore_one_shard\": {\"shard_items\": %d, \"snapshot_bytes\": %d, "
                            + "\"snapshot_write_ms\": %s, \"snapshot_read_ms\": %s, \"snapshot_search_identical\": %s, "
                            + "\"rebuild_threads\": %d, \"rebuild_ms\": %s, \"rebuild_items_per_s\": %s, "
                            + "\"rebuild_one_thread_ms\": %s},%n",
                    r.shardItems, r.snapshotBytes, num(r.snapshotWriteMs), num(r.snapshotReadMs), r.snapshotSearchIdentical,
                    r.rebuildThreads, num(r.rebuildMs), num(r.rebuildItemsPerSecond), num(r.rebuildOneThreadMs)));
            b.append("  \"sharded_build_rate_ratio_vs_raw_hnsw\": ").append(num(shardedBuildRateRatioVsRaw)).append(",\n");
            b.append("  \"total_s\": ").append(num(totalSeconds)).append("\n}\n");
            return b.toString();
        }

        private static void appendSystem(StringBuilder b, String key, SystemFigures f) {
            if (f == null) {
                b.append("  \"").append(key).append("\": null,\n");
                return;
            }
            b.append(String.format(Locale.ROOT, "  \"%s\": {\"items\": %d, \"build_s\": %s, \"build_items_per_s\": %s, "
                            + "\"build_items_per_cpu_s\": %s, \"recall_at_10\": %s, \"recall_at_k\": %s, \"search_p50_ms\": %s, "
                            + "\"search_p99_ms\": %s, \"search_mean_ms\": %s, \"heap_bytes_per_item\": %s},%n",
                    key, f.items, num(f.buildSeconds), num(f.buildItemsPerSecond), num(f.buildItemsPerCpuSecond),
                    num(f.recallAt10), num(f.recallAtK), num(f.searchP50Ms), num(f.searchP99Ms), num(f.searchMeanMs),
                    num(f.heapBytesPerItem)));
        }

        private static String num(double v) {
            return Double.isFinite(v) ? String.format(Locale.ROOT, "%.4f", v) : "null";
        }
    }

    /** The raw library's item, as a user of hnswlib-core writes it. */
    record RawItem(String id, float[] vector) implements Item<String, float[]> {
        @Override
        public int dimensions() {
            return vector.length;
        }
    }

    /** Items per build slice; the systems take turns every slice. */
    private static final int CHUNK = 1_000;
    private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();

    private final Options o;
    private final ClusteredVectors data;
    private final IndexParams params;

    private AnnComparison(Options o) {
        this.o = o;
        this.data = new ClusteredVectors(o.seed, o.dimension, ClusteredVectors.DEFAULT_CLUSTERS, ClusteredVectors.DEFAULT_SPREAD);
        this.params = o.params();
    }

    public static AnnFigures run(Options options) {
        return new AnnComparison(options).run();
    }

    /** One system under test: how it adds an item and answers a top-k query (ids, best first). */
    private interface System {
        void add(IndexedVector v);

        List<String> search(float[] query);
    }

    /** Build and search clocks of one system. */
    private static final class Clock {
        long buildNanos;
        long buildCpuNanos;
        final long[] searchNanos;
        double hits10;
        double hitsK;

        Clock(int latencyQueries) {
            searchNanos = new long[latencyQueries];
        }
    }

    /**
     * Builds the systems side by side, chunk by chunk, alternating which goes first, so a shared machine's changing
     * load hits them alike; vectors are generated outside the clocks.
     */
    private Clock[] build(System... systems) {
        Clock[] clocks = new Clock[systems.length];
        for (int s = 0; s < systems.length; s++) {
            clocks[s] = new Clock(o.latencyQueries);
        }
        List<IndexedVector> chunk = new ArrayList<>(CHUNK);
        for (int from = 0, round = 0; from < o.items; from += CHUNK, round++) {
            chunk.clear();
            for (int i = from; i < Math.min(o.items, from + CHUNK); i++) {
                chunk.add(data.item(i, 1));
            }
            for (int j = 0; j < systems.length; j++) {
                int s = (j + round) % systems.length;
                long c0 = THREADS.getCurrentThreadCpuTime();
                long t0 = java.lang.System.nanoTime();
                for (IndexedVector v : chunk) {
                    systems[s].add(v);
                }
                clocks[s].buildNanos += java.lang.System.nanoTime() - t0;
                clocks[s].buildCpuNanos += THREADS.getCurrentThreadCpuTime() - c0;
            }
            if (round % 100 == 99 || from + CHUNK >= o.items) {
                StringBuilder rates = new StringBuilder();
                for (Clock c : clocks) {
                    rates.append(String.format(Locale.ROOT, " %,.0f", (from + chunk.size()) / (c.buildNanos / 1e9)));
                }
                log("  %,d / %,d items, items/s:%s", from + chunk.size(), o.items, rates);
            }
        }
        return clocks;
    }

    /** Recall against {@code truth}, then latency over other queries, each query timed on every system in turn. */
    private void search(Clock[] clocks, List<List<Neighbor>> truth, System... systems) {
        for (int q = 0; q < o.queries; q++) {
            float[] query = data.query(q);
            List<Neighbor> exact = truth.get(q);
            for (int s = 0; s < systems.length; s++) {
                List<String> found = systems[s].search(query);
                clocks[s].hits10 += overlap(exact.subList(0, Math.min(10, exact.size())),
                        found.subList(0, Math.min(10, found.size())));
                clocks[s].hitsK += overlap(exact, found);
            }
        }
        for (int q = 0; q < o.latencyQueries; q++) {
            float[] query = data.query(o.queries + q);
            for (int j = 0; j < systems.length; j++) {
                int s = (j + q) % systems.length;
                long t0 = java.lang.System.nanoTime();
                systems[s].search(query);
                clocks[s].searchNanos[q] = java.lang.System.nanoTime() - t0;
            }
        }
    }

    private AnnFigures run() {
        long start = java.lang.System.nanoTime();
        String env = environment();
        log("%s", env);
        warmUp();

        // (a) exact
        List<List<Neighbor>> truth = new ArrayList<>();
        SystemFigures bf = exact(truth);
        log("%s", bf);

        // (b) one raw hnswlib-core index and (c) the shards, built and searched side by side
        long base = usedHeapAfterGc();
        ShardVectorIndex[] shards = new ShardVectorIndex[o.shards];
        for (int s = 0; s < o.shards; s++) {
            shards[s] = new ShardVectorIndex(o.dimension, params);
        }
        System sharded = new IndexSystem(shards);
        RawSystem raw = o.skipRaw ? null : new RawSystem();
        System[] systems = raw == null ? new System[] {sharded} : new System[] {sharded, raw};
        Clock[] clocks = build(systems);
        long both = usedHeapAfterGc();
        search(clocks, truth, systems);
        double rawBytes = Double.NaN;
        if (raw != null) {
            raw.hnsw = null;
            rawBytes = (both - usedHeapAfterGc()) / (double) o.items;
        }
        double shardBytes = (usedHeapAfterGc() - base) / (double) o.items;
        SystemFigures shardedFigures = figures(o.shards + " shards", clocks[0], clocks[0].searchNanos, shardBytes);
        log("%s", shardedFigures);
        SystemFigures rawFigures = raw == null ? null : figures("raw hnswlib", clocks[1], clocks[1].searchNanos, rawBytes);
        if (rawFigures != null) {
            log("%s", rawFigures);
        }

        RestoreFigures restore = restore(shards[0]);
        log("%s", restore);

        double ratio = rawFigures == null ? Double.NaN : shardedFigures.buildItemsPerSecond / rawFigures.buildItemsPerSecond;
        return new AnnFigures(o, env, bf, rawFigures, shardedFigures, restore, ratio,
                (java.lang.System.nanoTime() - start) / 1e9);
    }

    /** Builds the exact index, fills {@code truth} with the exact top-k of the recall queries, then lets it go. */
    private SystemFigures exact(List<List<Neighbor>> truth) {
        long base = usedHeapAfterGc();
        IndexSystem exact = new IndexSystem(new BruteForceIndex(o.dimension, o.items));
        Clock clock = build(exact)[0];
        double bytes = (usedHeapAfterGc() - base) / (double) o.items;
        long[] nanos = new long[o.queries];
        for (int q = 0; q < o.queries; q++) {
            long t0 = java.lang.System.nanoTime();
            truth.add(exact.nearest(data.query(q)));
            nanos[q] = java.lang.System.nanoTime() - t0;
        }
        clock.hits10 = o.queries * Math.min(10, o.k);
        clock.hitsK = o.queries * o.k;
        return figures("brute force", clock, nanos, bytes);
    }

    /**
     * Our indexes, searched as the job searches its shards: each item in its own shard, every shard's top-k merged.
     * One index (brute force) is searched alone.
     */
    private final class IndexSystem implements System {
        final VectorIndex[] shards;

        IndexSystem(VectorIndex... shards) {
            this.shards = shards;
        }

        @Override
        public void add(IndexedVector v) {
            shards[Sharding.shardOf(v.itemId(), shards.length)].upsert(v.itemId(), v.vector(), v.version());
        }

        List<Neighbor> nearest(float[] query) {
            if (shards.length == 1) {
                return shards[0].search(query, o.k, null);
            }
            List<List<Neighbor>> answers = new ArrayList<>(shards.length);
            for (VectorIndex shard : shards) {
                answers.add(shard.search(query, o.k, null));
            }
            return TopK.mergeTopK(answers, o.k);
        }

        @Override
        public List<String> search(float[] query) {
            List<Neighbor> merged = nearest(query);
            List<String> ids = new ArrayList<>(merged.size());
            merged.forEach(n -> ids.add(n.itemId()));
            return ids;
        }
    }

    /** One raw hnswlib-core index, used as its documentation shows (with remove enabled, as the shards need it). */
    private final class RawSystem implements System {
        HnswIndex<String, float[], RawItem, Float> hnsw = newRawIndex(o.items);

        @Override
        public void add(IndexedVector v) {
            hnsw.add(new RawItem(v.itemId(), prepare(v.vector())));
        }

        @Override
        public List<String> search(float[] query) {
            List<SearchResult<RawItem, Float>> found = hnsw.findNearest(prepare(query), o.k);
            List<String> ids = new ArrayList<>(found.size());
            found.forEach(r -> ids.add(r.item().id()));
            return ids;
        }
    }

    private HnswIndex<String, float[], RawItem, Float> newRawIndex(int capacity) {
        DistanceFunction<float[], Float> distance = o.rawCosine ? DistanceFunctions.FLOAT_COSINE_DISTANCE
                : DistanceFunctions.FLOAT_INNER_PRODUCT;
        return HnswIndex.newBuilder(o.dimension, distance, capacity)
                .withM(o.m).withEfConstruction(o.efConstruction).withEf(o.ef).withRemoveEnabled().build();
    }

    /** Cosine distance takes raw vectors; inner product needs unit vectors. */
    private float[] prepare(float[] v) {
        return o.rawCosine ? v : VectorMath.unitCopy(v, o.dimension);
    }

    /** Both HNSW variants go through the same library code: warm it up for both before anything is timed. */
    private void warmUp() {
        int n = Math.min(5_000, o.items);
        HnswIndex<String, float[], RawItem, Float> hnsw = newRawIndex(n);
        ShardVectorIndex shard = new ShardVectorIndex(o.dimension, params);
        for (int i = 0; i < n; i++) {
            IndexedVector v = data.item(o.items + i, 1);
            hnsw.add(new RawItem(v.itemId(), prepare(v.vector())));
            shard.upsert(v.itemId(), v.vector(), 1);
        }
        for (int q = 0; q < 50; q++) {
            hnsw.findNearest(prepare(data.query(q)), o.k);
            shard.search(data.query(q), o.k, null);
        }
        for (int i = 0; i < 10; i++) {
            snapshotRoundTrip(shard);
        }
    }

    private record RoundTrip(byte[] snapshot, ShardVectorIndex loaded, double writeMs, double readMs) {
    }

    private RoundTrip snapshotRoundTrip(ShardVectorIndex shard) {
        try {
            // as the operator would: into a byte[] for keyed state, and back
            long t0 = java.lang.System.nanoTime();
            byte[] snapshot = IndexSnapshotCodec.toBytes(shard);
            double writeMs = (java.lang.System.nanoTime() - t0) / 1e6;
            t0 = java.lang.System.nanoTime();
            ShardVectorIndex loaded = IndexSnapshotCodec.read(
                    new DataInputStream(new ByteArrayInputStream(snapshot)), params);
            double readMs = (java.lang.System.nanoTime() - t0) / 1e6;
            return new RoundTrip(snapshot, loaded, writeMs, readMs);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static double overlap(List<Neighbor> exact, List<String> found) {
        Set<String> ids = new HashSet<>(found);
        return exact.stream().filter(n -> ids.contains(n.itemId())).count();
    }

    private SystemFigures figures(String name, Clock c, long[] nanos, double bytes) {
        long[] sorted = nanos.clone();
        Arrays.sort(sorted);
        double mean = Arrays.stream(sorted).average().orElse(Double.NaN) / 1e6;
        return new SystemFigures(name, o.items, c.buildNanos / 1e9, o.items / (c.buildNanos / 1e9),
                o.items / (c.buildCpuNanos / 1e9), c.hits10 / (o.queries * (double) Math.min(10, o.k)),
                c.hitsK / (o.queries * (double) o.k), percentile(sorted, 0.50) / 1e6, percentile(sorted, 0.99) / 1e6,
                mean, bytes);
    }

    private static double percentile(long[] sorted, double p) {
        if (sorted.length == 0) {
            return Double.NaN;
        }
        return sorted[(int) Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)];
    }

    /** Snapshot write and read: median of 5 (the code is warm); a bulk rebuild with {@code rebuildThreads}, and with 1. */
    private RestoreFigures restore(ShardVectorIndex shard) {
        int n = shard.size();
        double[] writes = new double[5];
        double[] reads = new double[5];
        long size = 0;
        boolean identical = true;
        for (int i = 0; i < writes.length; i++) {
            RoundTrip rt = snapshotRoundTrip(shard);
            writes[i] = rt.writeMs;
            reads[i] = rt.readMs;
            size = rt.snapshot.length;
            if (i == 0) {
                for (int q = 0; q < 20; q++) {
                    identical &= rt.loaded.search(data.query(q), o.k, null).equals(shard.search(data.query(q), o.k, null));
                }
            }
        }
        Arrays.sort(writes);
        Arrays.sort(reads);

        // rebuild from the items, as the operator would from its keyed state
        List<IndexedVector> items = new ArrayList<>(n);
        shard.forEachItem((id, version) -> items.add(new IndexedVector(id, shard.vector(id), version)));
        long t0 = java.lang.System.nanoTime();
        ShardVectorIndex rebuilt = ShardVectorIndex.build(o.dimension, params, items, o.rebuildThreads);
        double rebuildMs = (java.lang.System.nanoTime() - t0) / 1e6;
        if (rebuilt.size() != n) {
            throw new IllegalStateException("rebuilt " + rebuilt.size() + " of " + n);
        }
        rebuilt = null;
        t0 = java.lang.System.nanoTime();
        ShardVectorIndex.build(o.dimension, params, items, 1);
        double oneThreadMs = (java.lang.System.nanoTime() - t0) / 1e6;
        return new RestoreFigures(n, size, writes[writes.length / 2], reads[reads.length / 2], identical, o.rebuildThreads, rebuildMs,
                n / (rebuildMs / 1e3), oneThreadMs);
    }

    private static long usedHeapAfterGc() {
        Runtime rt = Runtime.getRuntime();
        long used = Long.MAX_VALUE;
        for (int i = 0; i < 4; i++) {
            java.lang.System.gc();
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            used = Math.min(used, rt.totalMemory() - rt.freeMemory());
        }
        return used;
    }

    private static String environment() {
        String load = "";
        try {
            load = Files.readString(Path.of("/proc/loadavg")).trim();
        } catch (IOException | RuntimeException e) {
            // not Linux
        }
        return String.format(Locale.ROOT, "java %s, %d CPUs, max heap %,d MiB, load average at start %s",
                java.lang.System.getProperty("java.version"), Runtime.getRuntime().availableProcessors(),
                Runtime.getRuntime().maxMemory() >> 20, load);
    }

    private static void log(String format, Object... args) {
        java.lang.System.err.printf(Locale.ROOT, "[ann] " + format + "%n", args);
    }

    static Options parse(String[] args) {
        Options d = Options.defaults();
        int items = d.items, dim = d.dimension, shards = d.shards, queries = d.queries, latency = d.latencyQueries, k = d.k;
        long seed = d.seed;
        int m = d.m, efc = d.efConstruction, ef = d.ef, threads = d.rebuildThreads;
        boolean cosine = d.rawCosine, skipRaw = d.skipRaw;
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            switch (a) {
                case "--items" -> items = Integer.parseInt(args[++i].replace("_", "").replace(",", ""));
                case "--dimension" -> dim = Integer.parseInt(args[++i]);
                case "--shards" -> shards = Integer.parseInt(args[++i]);
                case "--queries" -> queries = Integer.parseInt(args[++i]);
                case "--latency-queries" -> latency = Integer.parseInt(args[++i]);
                case "--k" -> k = Integer.parseInt(args[++i]);
                case "--seed" -> seed = Long.parseLong(args[++i]);
                case "--m" -> m = Integer.parseInt(args[++i]);
                case "--efc" -> efc = Integer.parseInt(args[++i]);
                case "--ef" -> ef = Integer.parseInt(args[++i]);
                case "--rebuild-threads" -> threads = Integer.parseInt(args[++i]);
                case "--raw-cosine" -> cosine = true;
                case "--skip-raw" -> skipRaw = true;
                case "--json", "--text" -> i++; // handled in main
                default -> throw new IllegalArgumentException("unknown option " + a + "\n" + USAGE);
            }
        }
        return new Options(items, dim, shards, queries, latency, k, seed, m, efc, ef, threads, cosine, skipRaw);
    }

    private static final String USAGE = """
            AnnComparison [--items N (1000000)] [--dimension D (64)] [--shards S (8)] [--queries Q (200, recall)]
                          [--latency-queries L (1000)] [--k K (200)] [--seed X (42)] [--m M (16)] [--efc E (100)]
                          [--ef E (200)] [--rebuild-threads T (2)] [--raw-cosine (raw index uses hnswlib's cosine
                          distance on raw vectors instead of inner product on unit vectors)] [--skip-raw]
                          [--json FILE] [--text FILE]""";

    public static void main(String[] args) throws IOException {
        if (Arrays.asList(args).contains("--help")) {
            java.lang.System.out.println(USAGE);
            return;
        }
        AnnFigures figures = run(parse(args));
        java.lang.System.out.print(figures.toText());
        for (int i = 0; i < args.length - 1; i++) {
            if (args[i].equals("--json") || args[i].equals("--text")) {
                Path p = Path.of(args[i + 1]);
                if (p.getParent() != null) {
                    Files.createDirectories(p.getParent());
                }
                Files.writeString(p, args[i].equals("--json") ? figures.toJson() : figures.toText());
            }
        }
    }
}
