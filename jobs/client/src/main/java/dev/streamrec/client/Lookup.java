package dev.streamrec.client;

import java.time.Duration;

import org.apache.flink.api.common.JobID;

/**
 * The answer of one {@link RecallClient} lookup, and what it is.
 *
 * @param outcome   {@link Outcome#FOUND}: {@code value} is the job's current value for the key;
 *                  {@link Outcome#NO_VALUE}: the job answered that the key has no value (yet);
 *                  {@link Outcome#DEADLINE_PASSED}: no such answer before the deadline ({@code problem} says why:
 *                  no running job of that name, the job (re)starting, the proxy or REST unreachable, or, for a lookup
 *                  with a condition, the value not meeting it: then {@code value} is the last one read, if any)
 * @param value     the value, or null
 * @param target    what was read
 * @param key       the key (user id)
 * @param jobId     the job that answered (or the last one tried; null when no running job was found)
 * @param attempts  queryable-state requests sent (REST calls not counted)
 * @param elapsed   time the lookup took
 * @param problem   the last failure seen (null when there was none)
 */
public record Lookup<T>(Outcome outcome, T value, QueryTarget<T> target, String key, JobID jobId, int attempts,
                        Duration elapsed, String problem) {

    public enum Outcome { FOUND, NO_VALUE, DEADLINE_PASSED }

    public boolean found() {
        return outcome == Outcome.FOUND;
    }

    /** One line for logs and error messages. */
    public String describe() {
        String job = target.jobName() + (jobId == null ? "" : " " + jobId);
        switch (outcome) {
            case FOUND:
                return key + ": " + target.stateName() + " from " + job + " (" + attempts + " attempt(s), "
                        + elapsed.toMillis() + " ms)";
            case NO_VALUE:
                return key + " has no " + target.stateName() + " (yet): " + job + " answered without a value";
            default:
                return "no answer for " + key + " from " + target + " within " + elapsed.toMillis() + " ms after "
                        + attempts + " attempt(s)" + (problem == null ? "" : ": " + problem);
        }
    }
}
