package dev.streamrec.feature.bench;

import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;

import dev.streamrec.client.FlinkRestClient;

/**
 * The benchmark's cheap profile, read through the Flink REST API: per-vertex busy / back-pressured / idle time
 * (ms per second, averaged over the subtasks and over the samples taken) and checkpoint statistics.
 */
final class FlinkRest {
    private static final String[] TIMES = {"busyTimeMsPerSecond", "backPressuredTimeMsPerSecond", "idleTimeMsPerSecond"};
    private final FlinkRestClient rest;
    private final String job;
    private final Map<String, String> vertices = new LinkedHashMap<>();
    /** vertex name -> metric -> [sum of avgs, samples] */
    private final Map<String, Map<String, double[]>> sums = new LinkedHashMap<>();

    FlinkRest(String host, int port, String jobId) {
        this.rest = new FlinkRestClient(host, port);
        this.job = jobId;
    }

    /** Takes one sample of the vertices' busy/back-pressured/idle times; failures are skipped. */
    void sample() {
        try {
            if (vertices.isEmpty()) {
                for (JsonNode v : rest.get("/jobs/" + job).get("vertices")) {
                    vertices.put(v.get("id").asText(), v.get("name").asText());
                }
            }
            for (Map.Entry<String, String> v : vertices.entrySet()) {
                JsonNode metrics = rest.get("/jobs/" + job + "/vertices/" + v.getKey() + "/subtasks/metrics?get="
                        + String.join(",", TIMES) + "&agg=avg");
                for (JsonNode m : metrics) {
                    if (m.has("avg")) {
                        double[] acc = sums.computeIfAbsent(v.getValue(), k -> new LinkedHashMap<>())
                                .computeIfAbsent(m.get("id").asText(), k -> new double[2]);
                        acc[0] += m.get("avg").asDouble();
                        acc[1]++;
                    }
                }
            }
        } catch (Exception e) {
            // a missed sample
        }
    }

    /** vertex name -> {busy, backpressured, idle} in ms per second (average over the samples). */
    Map<String, Object> vertexTimes() {
        Map<String, Object> out = new LinkedHashMap<>();
        sums.forEach((vertex, metrics) -> {
            Map<String, Object> m = new LinkedHashMap<>();
            for (String t : TIMES) {
                double[] acc = metrics.get(t);
                if (acc != null && acc[1] > 0) {
                    m.put(t.replace("TimeMsPerSecond", ""), Math.round(acc[0] / acc[1]));
                }
            }
            out.put(shorten(vertex), m);
        });
        return out;
    }

    private static String shorten(String name) {
        return name.length() > 70 ? name.substring(0, 70) + "..." : name;
    }

    /** Counts and duration summary of the job's checkpoints so far. */
    Map<String, Object> checkpoints() {
        Map<String, Object> out = new HashMap<>();
        try {
            JsonNode c = rest.get("/jobs/" + job + "/checkpoints");
            out.put("completed", c.path("counts").path("completed").asLong());
            out.put("failed", c.path("counts").path("failed").asLong());
            JsonNode d = c.path("summary").path("end_to_end_duration");
            out.put("duration_avg_ms", d.path("avg").asLong());
            out.put("duration_p99_ms", d.path("p99").asLong());
            out.put("duration_max_ms", d.path("max").asLong());
            JsonNode a = c.path("summary").path("alignment_buffered");
            if (!a.isMissingNode()) {
                out.put("alignment_buffered_avg_bytes", a.path("avg").asLong());
            }
            out.put("checkpointed_size_avg_bytes", c.path("summary").path("checkpointed_size").path("avg").asLong());
        } catch (Exception e) {
            out.put("error", String.valueOf(e));
        }
        return out;
    }
}
