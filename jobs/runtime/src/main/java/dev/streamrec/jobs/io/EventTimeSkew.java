package dev.streamrec.jobs.io;

import java.io.Serializable;

/**
 * Rejects event times far outside what the stream allows: more than {@code maxFutureMs} ahead of the wall clock
 * (a producer clock gone wrong) or more than {@code maxPastMs} behind the newest event time this instance has seen
 * (replays of history are fine as long as they arrive roughly in order). One instance per parallel subtask.
 */
public final class EventTimeSkew implements Serializable {
    private static final long serialVersionUID = 1L;
    private final long maxFutureMs;
    private final long maxPastMs;
    private long newestSeen = Long.MIN_VALUE;

    public EventTimeSkew(long maxFutureMs, long maxPastMs) {
        this.maxFutureMs = maxFutureMs;
        this.maxPastMs = maxPastMs;
    }

    public Rejection check(String field, long eventTime, long now) {
        if (eventTime <= 0) {
            return new Rejection(Rejection.TIME_SKEW, field + " " + eventTime + " is not a valid epoch millisecond");
        }
        if (eventTime > now + maxFutureMs) {
            return new Rejection(Rejection.TIME_SKEW, field + " " + eventTime + " is " + (eventTime - now) + " ms in the future");
        }
        if (newestSeen != Long.MIN_VALUE && eventTime < newestSeen - maxPastMs) {
            return new Rejection(Rejection.TIME_SKEW, field + " " + eventTime + " is " + (newestSeen - eventTime)
                    + " ms behind the newest event time seen");
        }
        newestSeen = Math.max(newestSeen, eventTime);
        return null;
    }
}
