package dev.streamrec.local;

import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.apache.flink.api.common.JobID;

import com.fasterxml.jackson.databind.JsonNode;

import dev.streamrec.client.FlinkRestClient;
import dev.streamrec.jobs.JobMetrics;

/**
 * What the jobs have read: the sum of the {@code recordsIn} counters (group {@value JobMetrics#GROUP}) of every
 * job's decode operators ({@code JobGraph.read} names them {@code decode <topic>}), read through the Flink REST API.
 * Counts what the jobs consumed, whoever produced it (the demo or the user).
 */
final class DecoderReads {
    private static final String METRIC_SUFFIX = "." + JobMetrics.GROUP + ".recordsIn";

    private final FlinkRestClient rest;
    /** Per job: vertex id -> the decoders' metric ids in it (empty until its running tasks have registered them). */
    private final Map<JobID, Map<String, List<String>>> metricIds = new HashMap<>();
    private long last = -1;

    DecoderReads(FlinkRestClient rest) {
        this.rest = rest;
    }

    /** The records the jobs' decoders have read so far; the last known sum when REST fails, -1 before any. */
    long total(Collection<JobID> jobs) {
        try {
            long sum = 0;
            for (JobID job : jobs) {
                for (Map.Entry<String, List<String>> vertex : metricIds(job).entrySet()) {
                    if (vertex.getValue().isEmpty()) {
                        continue;
                    }
                    JsonNode values = rest.get(vertexMetrics(job, vertex.getKey()) + "?agg=sum&get="
                            + URLEncoder.encode(String.join(",", vertex.getValue()), StandardCharsets.UTF_8));
                    for (JsonNode m : values) {
                        sum += m.path("sum").asLong();
                    }
                }
            }
            last = sum;
        } catch (Exception e) {
            // REST busy or a job restarting: keep the last sum
        }
        return last;
    }

    /**
     * The decoders' metric ids per vertex. A vertex's ids, once seen, are kept; a vertex without any is asked again
     * next time, since its tasks may not have registered their metrics yet (or it has no decoder).
     */
    private Map<String, List<String>> metricIds(JobID job) throws Exception {
        Map<String, List<String>> byVertex = metricIds.get(job);
        if (byVertex == null) {
            byVertex = new LinkedHashMap<>();
            for (JsonNode vertex : rest.get("/jobs/" + job).path("vertices")) {
                byVertex.put(vertex.path("id").asText(), List.of());
            }
            metricIds.put(job, byVertex);
        }
        for (Map.Entry<String, List<String>> vertex : byVertex.entrySet()) {
            if (vertex.getValue().isEmpty()) {
                List<String> ids = new ArrayList<>();
                for (JsonNode m : rest.get(vertexMetrics(job, vertex.getKey()))) {
                    if (isDecoderRecordsIn(m.path("id").asText())) {
                        ids.add(m.path("id").asText());
                    }
                }
                vertex.setValue(ids);
            }
        }
        return byVertex;
    }

    private static String vertexMetrics(JobID job, String vertex) {
        return "/jobs/" + job + "/vertices/" + vertex + "/subtasks/metrics";
    }

    /** A decode operator's counter, e.g. {@code decode_user-actions.streamrec.recordsIn} (Flink's operator-scoped id). */
    static boolean isDecoderRecordsIn(String metricId) {
        return metricId.startsWith("decode") && metricId.endsWith(METRIC_SUFFIX);
    }
}
