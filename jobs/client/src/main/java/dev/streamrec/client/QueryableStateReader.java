package dev.streamrec.client;

import java.time.Duration;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import org.apache.flink.api.common.JobID;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.BasicTypeInfo;
import org.apache.flink.queryablestate.client.QueryableStateClient;

/**
 * Reads one user's value of a queryable state, retrying while the answer is not available yet: the job is
 * (re)starting ({@code UnknownKvStateLocation}), or the key has no value yet. Returns null when the deadline passes
 * without a value.
 */
public final class QueryableStateReader implements AutoCloseable {
    private final QueryableStateClient client;
    private final boolean owned;

    public QueryableStateReader(String proxyHost, int proxyPort) throws java.net.UnknownHostException {
        this(new QueryableStateClient(proxyHost, proxyPort), true);
    }

    public QueryableStateReader(QueryableStateClient client) {
        this(client, false);
    }

    private QueryableStateReader(QueryableStateClient client, boolean owned) {
        this.client = client;
        this.owned = owned;
    }

    /** One lookup, no retry: the value, or null if the key has none. Throws while the state is not reachable. */
    public <T> T lookupOnce(JobID job, String key, ValueStateDescriptor<T> descriptor, Duration timeout) throws Exception {
        try {
            ValueState<T> state = client.getKvState(job, descriptor.getQueryableStateName(), key,
                    BasicTypeInfo.STRING_TYPE_INFO, descriptor).get(timeout.toMillis(), TimeUnit.MILLISECONDS);
            return state.value();
        } catch (ExecutionException e) {
            if (isMissingKey(e)) {
                return null;
            }
            throw e;
        }
    }

    /** Retries until the value satisfies {@code ready} or the deadline passes (then returns the last value seen, or null). */
    public <T> T lookup(JobID job, String key, ValueStateDescriptor<T> descriptor, Duration deadline,
                        java.util.function.Predicate<T> ready) throws InterruptedException {
        long end = System.nanoTime() + deadline.toNanos();
        T last = null;
        long backoffMs = 5;
        while (System.nanoTime() < end) {
            try {
                last = lookupOnce(job, key, descriptor, Duration.ofSeconds(5));
                if (last != null && ready.test(last)) {
                    return last;
                }
            } catch (Exception e) {
                // job restarting or state not registered yet: retry until the deadline
            }
            Thread.sleep(backoffMs);
            backoffMs = Math.min(200, backoffMs * 2);
        }
        return last;
    }

    private static boolean isMissingKey(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            String m = t.getMessage();
            if (m != null && m.contains("UnknownKeyOrNamespaceException")) {
                return true;
            }
            if (t.getClass().getSimpleName().equals("UnknownKeyOrNamespaceException")) {
                return true;
            }
        }
        return false;
    }

    @Override
    public void close() {
        if (owned) {
            try {
                client.shutdownAndWait();
            } catch (RuntimeException e) {
                // closing a client of a cluster that is already gone
            }
        }
    }

}
