package dev.streamrec.client;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;

import org.apache.flink.api.common.JobID;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * A few read-only calls of the Flink REST API (the JobManager's web port, 8081 by default) over plain HTTP: any path
 * as JSON, and the jobs overview. Thread-safe.
 */
public final class FlinkRestClient {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final String baseUrl;
    private final HttpClient http;
    private final Duration requestTimeout;

    /** One job of {@code GET /jobs/overview}. {@code state} is Flink's JobStatus name (RUNNING, RESTARTING, CANCELED, ...). */
    public record JobOverview(JobID id, String name, String state, long startTime) {}

    /** {@code baseUrl} such as {@code http://localhost:8081}; a missing scheme means http. */
    public FlinkRestClient(String baseUrl, Duration requestTimeout) {
        String url = baseUrl.contains("://") ? baseUrl : "http://" + baseUrl;
        this.baseUrl = url.endsWith("/") ? url.substring(0, url.length() - 1) : url;
        this.requestTimeout = requestTimeout;
        this.http = HttpClient.newBuilder().connectTimeout(requestTimeout).build();
    }

    public FlinkRestClient(String host, int port) {
        this("http://" + host + ":" + port, Duration.ofSeconds(10));
    }

    public String baseUrl() {
        return baseUrl;
    }

    /** {@code GET baseUrl + path} as JSON; a status other than 2xx is an IOException naming it. */
    public JsonNode get(String path) throws IOException, InterruptedException {
        return get(path, requestTimeout);
    }

    /** Like {@link #get(String)}, with this call's own timeout. */
    public JsonNode get(String path, Duration timeout) throws IOException, InterruptedException {
        HttpResponse<String> response = http.send(HttpRequest.newBuilder(URI.create(baseUrl + path))
                .timeout(timeout).header("Accept", "application/json").build(), HttpResponse.BodyHandlers.ofString());
        if (response.statusCode() / 100 != 2) {
            String body = response.body() == null ? "" : response.body();
            throw new IOException("GET " + baseUrl + path + " answered " + response.statusCode() + ": "
                    + (body.length() > 300 ? body.substring(0, 300) + "..." : body));
        }
        return JSON.readTree(response.body());
    }

    /** Every job the cluster knows (running and recently ended). */
    public List<JobOverview> jobs(Duration timeout) throws IOException, InterruptedException {
        return parseOverview(get("/jobs/overview", timeout));
    }

    /** The RUNNING job called {@code name}; of several, the one started last. */
    public Optional<JobID> runningJob(String name, Duration timeout) throws IOException, InterruptedException {
        return runningJob(jobs(timeout), name);
    }

    static List<JobOverview> parseOverview(JsonNode overview) {
        List<JobOverview> jobs = new ArrayList<>();
        for (JsonNode j : overview.path("jobs")) {
            jobs.add(new JobOverview(JobID.fromHexString(j.path("jid").asText()), j.path("name").asText(),
                    j.path("state").asText(), j.path("start-time").asLong()));
        }
        return jobs;
    }

    static Optional<JobID> runningJob(List<JobOverview> jobs, String name) {
        return jobs.stream().filter(j -> j.name().equals(name) && j.state().equals("RUNNING"))
                .max(Comparator.comparingLong(JobOverview::startTime)).map(JobOverview::id);
    }
}
