package dev.streamrec.client;

import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * index-job's per-shard gauges ({@code streamrec.shard.<n>.<name>} on its "index shards" operator) through Flink's
 * REST API. The REST endpoint serves the JobManager's metric cache, refreshed every
 * {@code metrics.fetcher.update-interval} (10 s by default), so a value can be that old.
 */
public final class IndexShardMetrics {
    /** The operator whose subtasks hold the shards (its name in the job graph contains this). */
    public static final String SHARD_OPERATOR = "index shards";

    private IndexShardMetrics() {}

    /**
     * A gauge of the shard operator per shard (shard number -> value, the largest where a shard shows up in several
     * subtasks): every metric of the shard vertices named {@code ...shard.<n>...<suffix>}.
     */
    public static Map<String, Double> perShard(FlinkRestClient rest, String jobId, String suffix)
            throws IOException, InterruptedException {
        Map<String, Double> values = new LinkedHashMap<>();
        VertexMetrics.of(rest, jobId, SHARD_OPERATOR, id -> id.contains(".shard.") && id.endsWith(suffix)).forEach((id, value) ->
                values.merge(id.replaceAll(".*\\.shard\\.(\\d+)\\..*", "$1"), value, Math::max));
        return values;
    }

    /**
     * The live items of model version {@code version} over all shards (the sum of their {@code version.<v>.items}
     * gauges); 0 while no shard holds an index of it. A shard publishes the gauge once it first indexes the version.
     */
    public static long versionItems(FlinkRestClient rest, String jobId, String version)
            throws IOException, InterruptedException {
        double sum = 0;
        for (double items : perShard(rest, jobId, ".version." + version + ".items").values()) {
            sum += items;
        }
        return Math.round(sum);
    }
}
