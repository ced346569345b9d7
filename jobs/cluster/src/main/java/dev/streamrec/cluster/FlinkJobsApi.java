package dev.streamrec.cluster;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * The Flink REST API calls an operator needs (the JobManager's port, 8081 by default): upload a jar and run it (as
 * the web UI and {@code flink run} do), list jobs, read checkpoints and a job's published parameters, trigger a
 * savepoint, stop with a savepoint. On the JDK's {@link HttpClient}: POST bodies and multipart upload, no extra library.
 */
public final class FlinkJobsApi {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final String baseUrl;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

    /** A job of the overview: {@code state} is Flink's JobStatus name. */
    public record Job(String id, String name, String state, long startTime, long duration) {
        public boolean running() {
            return "RUNNING".equals(state);
        }
    }

    public FlinkJobsApi(String baseUrl) {
        this.baseUrl = baseUrl.endsWith("/") ? baseUrl.substring(0, baseUrl.length() - 1) : baseUrl;
    }

    public String baseUrl() {
        return baseUrl;
    }

    public JsonNode get(String path) throws IOException, InterruptedException {
        return send(HttpRequest.newBuilder(URI.create(baseUrl + path)).GET(), path);
    }

    /** Deletes an uploaded jar: the JobManager keeps every upload on disk until then. */
    public void deleteJar(String jarId) throws IOException, InterruptedException {
        send(HttpRequest.newBuilder(URI.create(baseUrl + "/jars/" + jarId)).DELETE(), "/jars/" + jarId);
    }

    private JsonNode post(String path, Object body) throws IOException, InterruptedException {
        return send(HttpRequest.newBuilder(URI.create(baseUrl + path)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(JSON.writeValueAsString(body))), path);
    }

    private JsonNode send(HttpRequest.Builder request, String path) throws IOException, InterruptedException {
        HttpResponse<String> r = http.send(request.timeout(Duration.ofMinutes(2)).build(),
                HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() / 100 != 2) {
            String body = r.body();
            throw new IOException(r.request().method() + " " + baseUrl + path + " answered " + r.statusCode() + ": "
                    + (body.length() > 2000 ? body.substring(0, 2000) + "..." : body));
        }
        return r.body().isBlank() ? JSON.createObjectNode() : JSON.readTree(r.body());
    }

    /** Every job the cluster knows (running and recently ended), newest first. */
    public List<Job> jobs() throws IOException, InterruptedException {
        List<Job> jobs = new ArrayList<>();
        for (JsonNode j : get("/jobs/overview").path("jobs")) {
            jobs.add(new Job(j.path("jid").asText(), j.path("name").asText(), j.path("state").asText(),
                    j.path("start-time").asLong(), j.path("duration").asLong()));
        }
        jobs.sort((a, b) -> Long.compare(b.startTime(), a.startTime()));
        return jobs;
    }

    /** The running (or restarting, created...: not ended) job of that name. */
    public Optional<Job> active(String name) throws IOException, InterruptedException {
        return jobs().stream().filter(j -> j.name().equals(name) && !ended(j.state())).findFirst();
    }

    static boolean ended(String state) {
        return List.of("FINISHED", "CANCELED", "FAILED", "SUSPENDED").contains(state);
    }

    /** Whether the job and every task of it run (a RUNNING job may still be deploying tasks). */
    public boolean allTasksRunning(String jobId) throws IOException, InterruptedException {
        JsonNode job = get("/jobs/" + jobId);
        if (!"RUNNING".equals(job.path("state").asText())) {
            return false;
        }
        for (JsonNode v : job.path("vertices")) {
            if (!"RUNNING".equals(v.path("status").asText())) {
                return false;
            }
        }
        return true;
    }

    /** The job's parameters as it published them (ExecutionConfig global job parameters). */
    public Map<String, String> userConfig(String jobId) throws IOException, InterruptedException {
        Map<String, String> config = new LinkedHashMap<>();
        get("/jobs/" + jobId + "/config").path("execution-config").path("user-config").fields()
                .forEachRemaining(e -> config.put(e.getKey(), e.getValue().asText()));
        return config;
    }

    /** {@code latest.completed} of the job's checkpoint statistics (missing node: none yet). */
    public JsonNode latestCheckpoint(String jobId) throws IOException, InterruptedException {
        return get("/jobs/" + jobId + "/checkpoints").path("latest").path("completed");
    }

    /** Uploads a job jar; returns the id the run call takes. */
    public String upload(Path jar) throws IOException, InterruptedException {
        String boundary = "----streamrec" + UUID.randomUUID();
        byte[] head = ("--" + boundary + "\r\nContent-Disposition: form-data; name=\"jarfile\"; filename=\""
                + jar.getFileName() + "\"\r\nContent-Type: application/x-java-archive\r\n\r\n").getBytes(StandardCharsets.UTF_8);
        byte[] tail = ("\r\n--" + boundary + "--\r\n").getBytes(StandardCharsets.UTF_8);
        byte[] file = Files.readAllBytes(jar);
        byte[] body = new byte[head.length + file.length + tail.length];
        System.arraycopy(head, 0, body, 0, head.length);
        System.arraycopy(file, 0, body, head.length, file.length);
        System.arraycopy(tail, 0, body, head.length + file.length, tail.length);
        JsonNode r = send(HttpRequest.newBuilder(URI.create(baseUrl + "/jars/upload"))
                .header("Content-Type", "multipart/form-data; boundary=" + boundary)
                .POST(HttpRequest.BodyPublishers.ofByteArray(body)), "/jars/upload");
        String stored = r.path("filename").asText();
        if (stored.isEmpty()) {
            throw new IOException("jar upload of " + jar + " answered " + r);
        }
        return Path.of(stored).getFileName().toString();
    }

    /** Runs an uploaded jar's main class with these arguments; returns the job id. */
    public String run(String jarId, List<String> args, int parallelism, String savepoint, boolean allowNonRestoredState)
            throws IOException, InterruptedException {
        ObjectNode body = JSON.createObjectNode();
        body.set("programArgsList", JSON.valueToTree(args));
        if (parallelism > 0) {
            body.put("parallelism", parallelism);
        }
        if (savepoint != null) {
            body.put("savepointPath", savepoint);
            body.put("allowNonRestoredState", allowNonRestoredState);
        }
        return post("/jars/" + jarId + "/run", body).path("jobid").asText();
    }

    /** Triggers a savepoint (the job keeps running); returns the trigger id. */
    public String triggerSavepoint(String jobId, String targetDirectory) throws IOException, InterruptedException {
        ObjectNode body = JSON.createObjectNode();
        body.put("target-directory", targetDirectory);
        body.put("cancel-job", false);
        body.put("formatType", "CANONICAL");
        return post("/jobs/" + jobId + "/savepoints", body).path("request-id").asText();
    }

    /** Stops the job with a savepoint (sources stop, a final savepoint, the sinks commit); returns the trigger id. */
    public String stopWithSavepoint(String jobId, String targetDirectory) throws IOException, InterruptedException {
        ObjectNode body = JSON.createObjectNode();
        body.put("targetDirectory", targetDirectory);
        body.put("drain", false);
        body.put("formatType", "CANONICAL");
        return post("/jobs/" + jobId + "/stop", body).path("request-id").asText();
    }

    /** Waits for a savepoint operation; returns the savepoint's location. */
    public String awaitSavepoint(String jobId, String triggerId, Duration timeout) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            JsonNode r = get("/jobs/" + jobId + "/savepoints/" + triggerId);
            if ("COMPLETED".equals(r.path("status").path("id").asText())) {
                JsonNode operation = r.path("operation");
                if (operation.has("failure-cause")) {
                    throw new IOException("savepoint of job " + jobId + " failed: "
                            + operation.path("failure-cause").path("serialized-throwable").asText(operation.toString()));
                }
                return operation.path("location").asText();
            }
            if (System.nanoTime() > deadline) {
                throw new IOException("savepoint of job " + jobId + " not completed within " + timeout);
            }
            Thread.sleep(200);
        }
    }
}
