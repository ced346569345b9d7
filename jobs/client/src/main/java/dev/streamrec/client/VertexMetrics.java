package dev.streamrec.client;

import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * A running job's operator metrics through Flink's REST API ({@code /jobs/<id>/vertices/<v>/metrics}): the metrics of
 * every vertex whose name contains an operator's name, by metric id ({@code <subtask>.<operator>.<group>.<name>}). The
 * endpoint serves the JobManager's metric cache, refreshed every {@code metrics.fetcher.update-interval} (10 s by
 * default), so a value can be that old.
 */
public final class VertexMetrics {
    /** Ids are asked for in batches: a long {@code ?get=} list would overflow the request line. */
    private static final int IDS_PER_REQUEST = 50;

    private VertexMetrics() {}

    /** Metric id -> value of the vertices named like {@code operator}, for the ids {@code wanted} accepts. */
    public static Map<String, Double> of(FlinkRestClient rest, String jobId, String operator, Predicate<String> wanted)
            throws IOException, InterruptedException {
        Map<String, Double> values = new LinkedHashMap<>();
        for (JsonNode v : rest.get("/jobs/" + jobId).get("vertices")) {
            if (!v.get("name").asText().contains(operator)) {
                continue;
            }
            String base = "/jobs/" + jobId + "/vertices/" + v.get("id").asText() + "/metrics";
            List<String> ids = new ArrayList<>();
            for (JsonNode m : rest.get(base)) {
                String id = m.get("id").asText();
                if (wanted.test(id)) {
                    ids.add(id);
                }
            }
            for (int i = 0; i < ids.size(); i += IDS_PER_REQUEST) {
                String get = String.join(",", ids.subList(i, Math.min(ids.size(), i + IDS_PER_REQUEST)));
                for (JsonNode m : rest.get(base + "?get=" + get)) {
                    values.put(m.get("id").asText(), m.get("value").asDouble());
                }
            }
        }
        return values;
    }

    /** The values of the operator's metrics whose id ends with {@code suffix} (one per subtask, usually). */
    public static List<Double> endingWith(FlinkRestClient rest, String jobId, String operator, String suffix)
            throws IOException, InterruptedException {
        return new ArrayList<>(of(rest, jobId, operator, id -> id.endsWith(suffix)).values());
    }
}
