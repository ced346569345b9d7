package dev.streamrec.client;

import java.io.IOException;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Predicate;
import java.util.function.Supplier;

import org.apache.flink.api.common.JobID;

import dev.streamrec.avro.RecallResult;
import dev.streamrec.avro.SeenSet;
import dev.streamrec.avro.UserFeatures;
import dev.streamrec.schemas.QueryableStates;
import dev.streamrec.seen.SeenTracker;

/**
 * Reads users' recall (and the other per-user queryable states: {@code fresh-recall}, {@code user-features}) from the
 * running jobs, as a serving client does.
 *
 * <pre>{@code
 * try (RecallClient client = RecallClient.builder().rest("http://jobmanager:8081").proxy("taskmanager", 9069).build()) {
 *     Lookup<RecallResult> r = client.recall("u42");
 *     if (r.found()) {
 *         r.value().getCandidates().forEach(c -> ...);   // itemId, score, channel
 *     }
 * }
 * }</pre>
 *
 * <p>The client finds the job by name: the RUNNING job so named in the Flink REST API's {@code /jobs/overview} (the
 * one started last if several), and caches its id. Each lookup has a deadline. Within it, any failure (the job
 * restarting, {@code UnknownKvStateLocation}, a job id the cluster no longer knows, the proxy or REST unreachable)
 * makes the client look the job up again through REST — so a restarted or resubmitted job (a new JobID) is found —
 * and retry with backoff (10 ms doubling to 250 ms). The {@link Lookup} says which answer it is: the value, no value
 * for that key (answered at once, not retried), or the deadline passed (with the last problem).
 *
 * <p>Queryable state is live, not yet checkpointed state: after a failover a value can step back to the checkpointed
 * one until the job catches up; {@code sourceEventTime} / {@code lastEventTime} tell how fresh an answer is.
 *
 * <p>Thread-safe: share one client between threads (one connection to the proxy; job ids are cached per job name and
 * looked up again by one thread at a time).
 */
public final class RecallClient implements AutoCloseable {
    public static final String DEFAULT_REST = "http://localhost:8081";
    public static final String DEFAULT_PROXY_HOST = "localhost";
    public static final int DEFAULT_PROXY_PORT = 9069;
    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(5);

    private static final Duration REST_TIMEOUT = Duration.ofSeconds(5);
    private static final long FIRST_BACKOFF_MS = 10;
    private static final long MAX_BACKOFF_MS = 250;
    /** Threads failing at the same moment share one REST call: a job id this fresh is not asked for again. */
    private static final long MIN_REFRESH_INTERVAL_NANOS = TimeUnit.MILLISECONDS.toNanos(50);

    private final FlinkRestClient rest;
    private final QueryableStateReader reader;
    private final String proxy;
    // Built on first use, then shared: a descriptor initializes its serializer once, and its type information costs
    // tens of ms, which a one-lookup command need not pay for targets it does not read.
    private final Once<QueryTarget<RecallResult>> recallTarget;
    private final Once<QueryTarget<RecallResult>> freshRecallTarget = new Once<>(QueryTarget::freshRecall);
    private final Once<QueryTarget<UserFeatures>> userFeaturesTarget = new Once<>(QueryTarget::userFeatures);
    private final Once<QueryTarget<SeenSet>> seenTarget = new Once<>(QueryTarget::seen);
    private final Duration timeout;
    private final boolean giveUpWhenRefused;
    private final Map<String, CachedJob> jobs = new ConcurrentHashMap<>();

    private RecallClient(Builder b) throws UnknownHostException {
        this.rest = new FlinkRestClient(b.rest, REST_TIMEOUT);
        this.reader = new QueryableStateReader(b.proxyHost, b.proxyPort);
        this.proxy = b.proxyHost + ":" + b.proxyPort;
        String jobName = b.jobName;
        String stateName = b.stateName;
        this.recallTarget = new Once<>(() -> QueryTarget.recall(jobName, stateName));
        this.timeout = b.timeout;
        this.giveUpWhenRefused = b.giveUpWhenRefused;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** The user's recall (the configured job and state: index-job's {@code recall} by default), default timeout. */
    public Lookup<RecallResult> recall(String userId) {
        return lookup(recallTarget.get(), userId, timeout);
    }

    public Lookup<RecallResult> recall(String userId, Duration timeout) {
        return lookup(recallTarget.get(), userId, timeout);
    }

    /** The user's recall without what the user has been shown (dedup-job's {@code fresh-recall}), default timeout. */
    public Lookup<RecallResult> freshRecall(String userId) {
        return lookup(freshRecallTarget.get(), userId, timeout);
    }

    /**
     * The call a feed server makes: the user's recall without what they have been shown, with its freshness. Reads
     * dedup-job's {@code fresh-recall} and the recall {@link #recall(String)} reads (index-job's by default); when the fresh result is at least as new as the
     * latest recall it is the answer; when it is missing or older (dedup-job behind or not running), the latest
     * recall filtered by the user's {@code seen} set is (an unreachable seen set then filters nothing: the source
     * says so only through the lookups). Each lookup has the client's timeout.
     */
    public FeedRecall feedRecall(String userId) {
        return FeedRecall.of(freshRecall(userId), recall(userId), () -> seen(userId));
    }

    /** The user's seen set (dedup-job's {@code seen}); read it with {@link SeenTracker#read}, or ask {@link #seen(String, String)}. */
    public Lookup<SeenSet> seen(String userId) {
        return lookup(seenTarget.get(), userId, timeout);
    }

    /**
     * Whether the user has seen the item, and until when it counts as seen: {@code seenUntil} is the item's latest
     * impression (for an item in a compact set's older tier, that tier's newest impression) plus the period, or
     * {@link Long#MIN_VALUE} when it is not in the set. The lookup says whether dedup-job answered.
     */
    public SeenAnswer seen(String userId, String itemId) {
        Lookup<SeenSet> lookup = seen(userId);
        if (!lookup.found()) {
            return new SeenAnswer(lookup, itemId, Long.MIN_VALUE, 0, 0);
        }
        SeenTracker tracker = SeenTracker.read(lookup.value());
        return new SeenAnswer(lookup, itemId, tracker.seenUntil(itemId), tracker.size(), tracker.falsePositiveRate());
    }

    /** The user's trigger features (feature-job's {@code user-features}), default timeout. */
    public Lookup<UserFeatures> userFeatures(String userId) {
        return lookup(userFeaturesTarget.get(), userId, timeout);
    }

    /** What {@link #recall(String)} reads. */
    public QueryTarget<RecallResult> recallTarget() {
        return recallTarget.get();
    }

    /** Any per-user queryable state: the value, no value for the key, or the deadline passed. */
    public <T> Lookup<T> lookup(QueryTarget<T> target, String key, Duration timeout) {
        return lookup(target, key, timeout, null);
    }

    /**
     * Retries until the key has a value that meets {@code ready} (e.g. {@code r -> r.getSourceEventTime() >= t}), or the
     * deadline passes: then the outcome is {@link Lookup.Outcome#DEADLINE_PASSED} and the value the last one read.
     */
    public <T> Lookup<T> lookupUntil(QueryTarget<T> target, String key, Duration timeout, Predicate<? super T> ready) {
        return lookup(target, key, timeout, ready);
    }

    /** The id the client currently holds for a job name (empty before its first lookup or while none runs). */
    public Optional<JobID> cachedJobId(String jobName) {
        CachedJob c = jobs.get(jobName);
        return c == null ? Optional.empty() : Optional.ofNullable(c.id);
    }

    private <T> Lookup<T> lookup(QueryTarget<T> target, String key, Duration timeout, Predicate<? super T> ready) {
        long start = System.nanoTime();
        long deadline = start + timeout.toNanos();
        CachedJob cached = jobs.computeIfAbsent(target.jobName(), CachedJob::new);
        JobID job = cached.id;
        boolean resolve = job == null;
        int attempts = 0;
        long backoffMs = FIRST_BACKOFF_MS;
        String problem = null;
        T last = null;
        try {
            while (true) {
                if (resolve) {
                    job = cached.refresh(job, deadline);
                    String restProblem = cached.restProblem;
                    if (restProblem != null) {
                        problem = restProblem;
                    } else if (job == null) {
                        problem = "no RUNNING job named '" + target.jobName() + "' at " + rest.baseUrl();
                    }
                    if (giveUpWhenRefused && cached.restRefused && job == null) {
                        break; // nothing listens at the REST address and no job id to ask the proxy with
                    }
                }
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    break;
                }
                if (job != null) {
                    attempts++;
                    try {
                        T value = reader.lookupOnce(job, key, target.descriptor(), Duration.ofNanos(left));
                        if (ready == null) {
                            return result(value == null ? Lookup.Outcome.NO_VALUE : Lookup.Outcome.FOUND, value,
                                    target, key, job, attempts, start, null);
                        }
                        if (value != null && ready.test(value)) {
                            return result(Lookup.Outcome.FOUND, value, target, key, job, attempts, start, null);
                        }
                        last = value;
                        problem = value == null ? "no value yet" : "the value does not meet the condition yet";
                        resolve = false;
                    } catch (TimeoutException e) {
                        problem = "no answer from the queryable state proxy (" + proxy + ") in time";
                        resolve = true;
                    } catch (ExecutionException e) {
                        problem = "queryable state proxy (" + proxy + "): " + summary(e.getCause());
                        resolve = true;
                    } catch (InterruptedException e) {
                        throw e;
                    } catch (Exception e) {
                        problem = summary(e);
                        resolve = true;
                    }
                }
                left = deadline - System.nanoTime();
                if (left <= 0) {
                    break;
                }
                Thread.sleep(Math.min(backoffMs, TimeUnit.NANOSECONDS.toMillis(left) + 1));
                backoffMs = Math.min(MAX_BACKOFF_MS, backoffMs * 2);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            problem = "interrupted";
        }
        if (problem == null) {
            problem = "the deadline passed before the queryable state proxy (" + proxy + ") was asked";
        }
        return result(Lookup.Outcome.DEADLINE_PASSED, last, target, key, job, attempts, start, problem);
    }

    private static <T> Lookup<T> result(Lookup.Outcome outcome, T value, QueryTarget<T> target, String key, JobID job,
                                        int attempts, long startNanos, String problem) {
        return new Lookup<>(outcome, value, target, key, job, attempts, Duration.ofNanos(System.nanoTime() - startNanos),
                problem);
    }

    /**
     * One line for a failure. The proxy sends its errors as text ("Failed request N. Caused by: ..." with the remote
     * stack trace): keep the first line that names the cause.
     */
    static String summary(Throwable e) {
        if (e == null) {
            return "unknown error";
        }
        String message = e.getMessage() == null ? "" : e.getMessage();
        for (String line : message.split("\\R")) {
            String l = line.strip();
            if (l.startsWith("Caused by:")) {
                l = l.substring("Caused by:".length()).strip();
            }
            if (!l.isEmpty() && !l.startsWith("Failed request") && !l.startsWith("at ")) {
                return l.length() > 300 ? l.substring(0, 300) + "..." : l;
            }
        }
        String name = e.getClass().getSimpleName();
        return e.getCause() != null && e.getCause() != e ? name + ": " + summary(e.getCause()) : name;
    }

    @Override
    public void close() {
        reader.close();
    }

    /** A value built on first use, then shared by every thread. */
    private static final class Once<T> {
        private final Supplier<T> build;
        private volatile T value;

        Once(Supplier<T> build) {
            this.build = build;
        }

        T get() {
            T v = value;
            if (v == null) {
                synchronized (this) {
                    if (value == null) {
                        value = build.get();
                    }
                    v = value;
                }
            }
            return v;
        }
    }

    /** The id a job name resolves to, shared by every thread of the client. */
    private final class CachedJob {
        private final String name;
        private volatile JobID id;
        /** Why the last REST call failed; null when it answered. */
        private volatile String restProblem;
        /** The last REST call's connection was refused: nothing listens there. */
        private volatile boolean restRefused;
        /** REST has answered at least once, so {@link #id} is its answer, not a guess. */
        private boolean restAnswered;
        private long refreshedAt = System.nanoTime() - MIN_REFRESH_INTERVAL_NANOS;

        CachedJob(String name) {
            this.name = name;
        }

        /**
         * Looks the job up through REST, unless another thread has already replaced {@code failed} or has just looked:
         * then its answer is used. When REST cannot be reached the id stays: the proxy may still answer.
         */
        synchronized JobID refresh(JobID failed, long deadlineNanos) throws InterruptedException {
            long now = System.nanoTime();
            if (!Objects.equals(id, failed) || now - refreshedAt < MIN_REFRESH_INTERVAL_NANOS || now >= deadlineNanos) {
                return id;
            }
            refreshedAt = now;
            boolean cutByDeadline = deadlineNanos - now < REST_TIMEOUT.toNanos();
            try {
                Duration timeout = Duration.ofNanos(Math.min(deadlineNanos - now, REST_TIMEOUT.toNanos()));
                id = rest.runningJob(name, timeout).orElse(null);
                restProblem = null;
                restRefused = false;
                restAnswered = true;
            } catch (IOException | RuntimeException e) {
                if (e instanceof java.net.SocketTimeoutException && cutByDeadline && restAnswered) {
                    return id; // the lookup's own deadline, not REST, ran out: the last answer REST gave still stands
                }
                restProblem = "Flink REST at " + rest.baseUrl() + " unreachable: " + summary(e);
                restRefused = e instanceof java.net.ConnectException;
            }
            return id;
        }
    }

    /** Defaults: REST {@value #DEFAULT_REST}, proxy localhost:9069, job index-job, state recall, timeout 5 s. */
    public static final class Builder {
        private String rest = DEFAULT_REST;
        private String proxyHost = DEFAULT_PROXY_HOST;
        private int proxyPort = DEFAULT_PROXY_PORT;
        private String jobName = QueryTarget.INDEX_JOB;
        private String stateName = QueryableStates.RECALL;
        private Duration timeout = DEFAULT_TIMEOUT;
        private boolean giveUpWhenRefused;

        private Builder() {}

        /**
         * Ends a lookup at once, before its deadline ({@link Lookup.Outcome#DEADLINE_PASSED} with the reason), when the
         * REST address refuses the connection and no job id is known: nothing runs there. For a person at a command
         * line; a service keeps the default (retry until the deadline), so it rides out a JobManager restart.
         */
        public Builder giveUpWhenRefused(boolean giveUp) {
            this.giveUpWhenRefused = giveUp;
            return this;
        }

        /** The Flink REST address (JobManager), e.g. {@code http://localhost:8081}. */
        public Builder rest(String url) {
            this.rest = url;
            return this;
        }

        /** A queryable state proxy (any TaskManager's; port {@code queryable-state.proxy.ports}). */
        public Builder proxy(String host, int port) {
            this.proxyHost = host;
            this.proxyPort = port;
            return this;
        }

        /** {@code host:port} form of {@link #proxy(String, int)}. */
        public Builder proxy(String hostAndPort) {
            int colon = hostAndPort.lastIndexOf(':');
            if (colon <= 0 || colon == hostAndPort.length() - 1) {
                throw new IllegalArgumentException("expected host:port, got '" + hostAndPort + "'");
            }
            try {
                return proxy(hostAndPort.substring(0, colon), Integer.parseInt(hostAndPort.substring(colon + 1)));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("expected host:port, got '" + hostAndPort + "'");
            }
        }

        /** The job {@link RecallClient#recall} reads (default index-job). */
        public Builder jobName(String jobName) {
            this.jobName = jobName;
            return this;
        }

        /** The state {@link RecallClient#recall} reads (default recall). */
        public Builder stateName(String stateName) {
            this.stateName = stateName;
            return this;
        }

        /** Deadline of each lookup without an explicit one (default 5 s). */
        public Builder timeout(Duration timeout) {
            this.timeout = timeout;
            return this;
        }

        public RecallClient build() throws UnknownHostException {
            return new RecallClient(this);
        }
    }
}
