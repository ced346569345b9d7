package dev.streamrec.client;

import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * index-job's per-shard gauges ({@code streamrec.shard.<n>.<name>} on its "index shards" operator) through Flink's
 * REST API. The REST endpoint serves the JobManager's metric cache, refreshed every
 * {@code metrics.fetcher.update-interval} (10 s by default), so a value can be that old.
 */
public final class IndexShardMetrics {
    /** The operator whose subtasks hold the shards (its name in the job graph contains this). */
    public static final String SHARD_OPERATOR = "index shards";
    /** Ids are asked for in batches: a long {@code ?get=} list would overflow the request line. */
    private static final int IDS_PER_REQUEST = 50;

    private IndexShardMetrics() {}

    /**
     * A gauge of the shard operator per shard (shard number -> value, the largest where a shard shows up in several
     * subtasks): every metric of the shard vertices named {@code ...shard.<n>...<suffix>}.
     */
    public static Map<String, Double> perShard(FlinkRestClient rest, String jobId, String suffix)
            throws IOException, InterruptedException {
        Map<String, Double> values = new LinkedHashMap<>();
        for (JsonNode v : rest.get("/jobs/" + jobId).get("vertices")) {
            if (!v.get("name").asText().contains(SHARD_OPERATOR)) {
                continue;
            }
            String base = "/jobs/" + jobId + "/vertices/" + v.get("id").asText() + "/metrics";
            List<String> ids = new ArrayList<>();
            for (JsonNode m : rest.get(base)) {
                String id = m.get("id").asText();
                if (id.contains(".shard.") && id.endsWith(suffix)) {
                    ids.add(id);
                }
            }
            for (int i = 0; i < ids.size(); i += IDS_PER_REQUEST) {
                String get = String.join(",", ids.subList(i, Math.min(ids.size(), i + IDS_PER_REQUEST)));
                for (JsonNode m : rest.get(base + "?get=" + get)) {
                    String shard = m.get("id").asText().replaceAll(".*\\.shard\\.(\\d+)\\..*", "$1");
                    values.merge(shard, m.get("value").asDouble(), Math::max);
                }
            }
        }
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
