package dev.streamrec.client;

import java.io.IOException;
import java.io.InputStream;
import java.net.HttpURLConnection;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;

import org.apache.flink.api.common.JobID;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * A few read-only calls of the Flink REST API (the JobManager's web port, 8081 by default) over plain HTTP: any path
 * as JSON, and the jobs overview. Thread-safe.
 *
 * <p>On {@link HttpURLConnection}, not {@code java.net.http.HttpClient}: that one sets up TLS (a few hundred classes,
 * about 0.1 s) when it is built, even for plain HTTP, which a one-lookup command such as bin/query pays every call.
 */
public final class FlinkRestClient {
    private static final JsonFactory STREAMS = new JsonFactory();

    /** Built on first use: the jobs overview, all bin/query reads, is parsed as a stream without it (~0.1 s less start-up). */
    private static final class Trees {
        static final ObjectMapper MAPPER = new ObjectMapper();
    }

    private final String baseUrl;
    private final Duration requestTimeout;

    /** One job of {@code GET /jobs/overview}. {@code state} is Flink's JobStatus name (RUNNING, RESTARTING, CANCELED, ...). */
    public record JobOverview(JobID id, String name, String state, long startTime) {}

    /** {@code baseUrl} such as {@code http://localhost:8081}; a missing scheme means http. */
    public FlinkRestClient(String baseUrl, Duration requestTimeout) {
        String url = baseUrl.contains("://") ? baseUrl : "http://" + baseUrl;
        this.baseUrl = url.endsWith("/") ? url.substring(0, url.length() - 1) : url;
        this.requestTimeout = requestTimeout;
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
        try (InputStream in = open(path, timeout)) {
            return Trees.MAPPER.readTree(in);
        }
    }

    /** The body of a 2xx answer to {@code GET baseUrl + path}; any other status is an IOException naming it. */
    private InputStream open(String path, Duration timeout) throws IOException {
        HttpURLConnection connection = (HttpURLConnection) new URL(baseUrl + path).openConnection();
        int millis = (int) Math.max(1, Math.min(Integer.MAX_VALUE, timeout.toMillis()));
        connection.setConnectTimeout(millis);
        connection.setReadTimeout(millis);
        connection.setRequestProperty("Accept", "application/json");
        // Not interruptible: the connect and read timeouts bound the call.
        int status = connection.getResponseCode();
        if (status / 100 != 2) {
            String body = read(connection.getErrorStream());
            throw new IOException("GET " + baseUrl + path + " answered " + status + ": "
                    + (body.length() > 300 ? body.substring(0, 300) + "..." : body));
        }
        return connection.getInputStream();
    }

    private static String read(InputStream in) throws IOException {
        if (in == null) {
            return "";
        }
        try (in) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    /** Every job the cluster knows (running and recently ended). */
    public List<JobOverview> jobs(Duration timeout) throws IOException, InterruptedException {
        try (InputStream in = open("/jobs/overview", timeout)) {
            return parseOverview(STREAMS.createParser(in));
        }
    }

    /** The RUNNING job called {@code name}; of several, the one started last. */
    public Optional<JobID> runningJob(String name, Duration timeout) throws IOException, InterruptedException {
        return runningJob(jobs(timeout), name);
    }

    /** {@code {"jobs":[{"jid":..,"name":..,"state":..,"start-time":..}, ...]}}; other fields are skipped. */
    static List<JobOverview> parseOverview(JsonParser json) throws IOException {
        List<JobOverview> jobs = new ArrayList<>();
        expect(json, json.nextToken(), JsonToken.START_OBJECT);
        while (json.nextToken() == JsonToken.FIELD_NAME) {
            String field = json.currentName();
            JsonToken value = json.nextToken();
            if (!field.equals("jobs")) {
                json.skipChildren();
                continue;
            }
            expect(json, value, JsonToken.START_ARRAY);
            while (json.nextToken() == JsonToken.START_OBJECT) {
                String id = null;
                String name = "";
                String state = "";
                long startTime = 0;
                while (json.nextToken() == JsonToken.FIELD_NAME) {
                    String key = json.currentName();
                    json.nextToken();
                    switch (key) {
                        case "jid" -> id = json.getValueAsString();
                        case "name" -> name = json.getValueAsString();
                        case "state" -> state = json.getValueAsString();
                        case "start-time" -> startTime = json.getValueAsLong();
                        default -> json.skipChildren();
                    }
                }
                if (id == null) {
                    throw new IOException("a job without a jid in the jobs overview");
                }
                jobs.add(new JobOverview(JobID.fromHexString(id), name, state, startTime));
            }
        }
        return jobs;
    }

    /** The overview of {@link #parseOverview(JsonParser)} from text. */
    static List<JobOverview> parseOverview(String overview) throws IOException {
        try (JsonParser json = STREAMS.createParser(overview)) {
            return parseOverview(json);
        }
    }

    private static void expect(JsonParser json, JsonToken actual, JsonToken expected) throws IOException {
        if (actual != expected) {
            throw new IOException("unexpected jobs overview: " + actual + " at " + json.currentLocation() + ", expected " + expected);
        }
    }

    static Optional<JobID> runningJob(List<JobOverview> jobs, String name) {
        return jobs.stream().filter(j -> j.name().equals(name) && j.state().equals("RUNNING"))
                .max(Comparator.comparingLong(JobOverview::startTime)).map(JobOverview::id);
    }
}
