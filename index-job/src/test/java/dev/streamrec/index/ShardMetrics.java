package dev.streamrec.index;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;

import dev.streamrec.client.FlinkRestClient;

/** The index shards' gauges through Flink's REST API, as tests and benchmarks read them. */
public final class ShardMetrics {
    private ShardMetrics() {}

    /**
     * A gauge of the shard operator per shard (shard number -> value, the largest where a shard shows up in several
     * subtasks): every metric of the "index shards" vertices named {@code ...shard.<n>...<suffix>}, asked for 50 at a
     * time.
     */
    public static Map<String, Double> perShard(FlinkRestClient rest, String jobId, String suffix) throws Exception {
        Map<String, Double> values = new LinkedHashMap<>();
        for (JsonNode v : rest.get("/jobs/" + jobId).get("vertices")) {
            if (!v.get("name").asText().contains("index shards")) {
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
            for (int i = 0; i < ids.size(); i += 50) {
                String get = String.join(",", ids.subList(i, Math.min(ids.size(), i + 50)));
                for (JsonNode m : rest.get(base + "?get=" + get)) {
                    String shard = m.get("id").asText().replaceAll(".*\\.shard\\.(\\d+)\\..*", "$1");
                    values.merge(shard, m.get("value").asDouble(), Math::max);
                }
            }
        }
        return values;
    }
}
