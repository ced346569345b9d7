package dev.streamrec.cluster;

import java.io.IOException;
import java.net.UnknownHostException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Predicate;

import com.fasterxml.jackson.databind.JsonNode;

import dev.streamrec.client.Lookup;
import dev.streamrec.client.QueryTarget;
import dev.streamrec.client.RecallClient;

/**
 * What an operator does to a running pipeline, timed: an upgrade or rollback of a job through a savepoint, a
 * TaskManager SIGKILLed, a rescale. Each ends only when the job runs every task again and, for the jobs serving
 * queryable state, a lookup answers through one of the TaskManagers' proxies; the cluster tests assert on the outcome,
 * bin/bench-cluster records the times.
 */
public final class ClusterDrills implements AutoCloseable {
    private final StandaloneCluster cluster;
    private final Operator operator;
    private final Duration timeout;
    private final List<RecallClient> clients = new ArrayList<>();

    public ClusterDrills(StandaloneCluster cluster, Operator operator, Duration timeout) throws UnknownHostException {
        this.cluster = cluster;
        this.operator = operator;
        this.timeout = timeout;
        for (int tm = 1; tm <= cluster.config().taskManagers(); tm++) {
            clients.add(RecallClient.builder().rest(cluster.config().restUrl())
                    .proxy("127.0.0.1", cluster.config().proxyPort(tm)).timeout(Duration.ofSeconds(2)).build());
        }
    }

    /** The queryable state a job serves, to probe it with (joiner-job serves none). */
    public static QueryTarget<?> servedState(String job) {
        return switch (job) {
            case "feature-job" -> QueryTarget.userFeatures();
            case "index-job" -> QueryTarget.recall();
            case "dedup-job" -> QueryTarget.freshRecall();
            default -> null;
        };
    }

    /** A restart timed from the stop (or kill) to the job running every task and its queryable state answering. */
    public record Restart(String job, String jobId, String savepoint, double seconds) {}

    /** Stop with a savepoint, start {@code jar} (null: the same build) from it; timed until {@code key} is answered. */
    public Restart upgrade(String job, Path jar, String key) throws IOException, InterruptedException {
        return timed(job, key, () -> operator.upgrade(job, jar, 0, false));
    }

    /** {@link Operator#rollback} (the build before, from a savepoint taken now), timed like {@link #upgrade}. */
    public Restart rollback(String job, String key) throws IOException, InterruptedException {
        return timed(job, key, () -> operator.rollback(job, false));
    }

    /** {@link Operator#rescale}, timed like {@link #upgrade}. */
    public Restart rescale(String job, int parallelism, String key) throws IOException, InterruptedException {
        return timed(job, key, () -> operator.rescale(job, parallelism));
    }

    /** An operator action that restarts a job (returns its new id). */
    private interface JobRestart {
        String run() throws IOException, InterruptedException;
    }

    private Restart timed(String job, String key, JobRestart restart) throws IOException, InterruptedException {
        long start = System.nanoTime();
        String jobId = restart.run();
        awaitServing(job, key, start + timeout.toNanos());
        return new Restart(job, jobId, operator.history(job).lastStart().orElseThrow().savepoint(), seconds(start));
    }

    /**
     * SIGKILLs TaskManager {@code n} and starts it again at once (what a supervisor such as systemd or Kubernetes does);
     * timed until every job that had a task on it runs all its tasks again, deployed after the kill, and every job's
     * queryable state answers for its key in {@code keys}. Returns the seconds and the jobs that restarted.
     */
    public Recovery killTaskManager(int n, Map<String, String> keys) throws IOException, InterruptedException {
        String resourceId = StandaloneCluster.taskManager(n);
        Set<String> affected = new LinkedHashSet<>();
        Map<String, String> ids = new LinkedHashMap<>();
        for (String job : Operator.PIPELINE) {
            String id = operator.running(job).id();
            ids.put(job, id);
            if (runsOn(id, resourceId)) {
                affected.add(job);
            }
        }
        long killedAtMs = System.currentTimeMillis();
        long start = System.nanoTime();
        long deadline = start + timeout.toNanos();
        cluster.kill(resourceId);
        cluster.startTaskManager(n);
        for (String job : affected) {
            String id = ids.get(job);
            StandaloneCluster.await(job + " to run every task again, deployed after TaskManager " + n + " was killed",
                    deadline, () -> redeployedAfter(id, killedAtMs));
        }
        for (String job : Operator.PIPELINE) {
            if (keys.containsKey(job)) {
                awaitServing(job, keys.get(job), deadline);
            }
        }
        return new Recovery(resourceId, List.copyOf(affected), seconds(start));
    }

    public record Recovery(String taskManager, List<String> restartedJobs, double seconds) {}

    /** Waits until the job's queryable state answers for {@code key} through any TaskManager's proxy. */
    public void awaitServing(String job, String key, long deadlineNanos) throws InterruptedException {
        QueryTarget<?> target = servedState(job);
        if (target == null) {
            return;
        }
        Lookup<?> last = ask(target, key, value -> true, deadlineNanos);
        if (last == null || !last.found()) {
            throw new IllegalStateException("timed out waiting for " + job + " to answer for " + key + ": "
                    + (last == null ? "not asked" : last.describe()));
        }
    }

    /** The first answer for {@code key} any proxy gives that meets {@code ready} (null: none within the timeout). */
    public <T> T lookup(QueryTarget<T> target, String key, Predicate<? super T> ready) throws InterruptedException {
        Lookup<T> last = ask(target, key, ready, System.nanoTime() + timeout.toNanos());
        return last != null && last.found() ? last.value() : null;
    }

    /** Asks each TaskManager's proxy in turn until one answers with a value meeting {@code ready}; the last lookup. */
    private <T> Lookup<T> ask(QueryTarget<T> target, String key, Predicate<? super T> ready, long deadlineNanos)
            throws InterruptedException {
        Lookup<T> last = null;
        while (System.nanoTime() < deadlineNanos) {
            for (RecallClient client : clients) {
                last = client.lookupUntil(target, key, Duration.ofSeconds(2), ready);
                if (last.found()) {
                    return last;
                }
            }
            Thread.sleep(100);
        }
        return last;
    }

    private boolean runsOn(String jobId, String resourceId) throws IOException, InterruptedException {
        for (JsonNode v : operator.api().get("/jobs/" + jobId).path("vertices")) {
            for (JsonNode tm : operator.api().get("/jobs/" + jobId + "/vertices/" + v.path("id").asText() + "/taskmanagers")
                    .path("taskmanagers")) {
                if (resourceId.equals(tm.path("taskmanager-id").asText())) {
                    return true;
                }
            }
        }
        return false;
    }

    /** Every vertex RUNNING with tasks started after {@code afterMs} (a failover restarts the region's tasks). */
    private boolean redeployedAfter(String jobId, long afterMs) {
        try {
            JsonNode job = operator.api().get("/jobs/" + jobId);
            if (!"RUNNING".equals(job.path("state").asText())) {
                return false;
            }
            for (JsonNode v : job.path("vertices")) {
                if (!"RUNNING".equals(v.path("status").asText()) || v.path("start-time").asLong() < afterMs) {
                    return false;
                }
            }
            return true;
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    private static double seconds(long startNanos) {
        return Math.round((System.nanoTime() - startNanos) / 1e7) / 100.0;
    }

    @Override
    public void close() {
        clients.forEach(RecallClient::close);
    }
}
