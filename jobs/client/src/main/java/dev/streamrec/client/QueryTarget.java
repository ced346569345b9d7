package dev.streamrec.client;

import org.apache.flink.api.common.state.ValueStateDescriptor;

import dev.streamrec.avro.RecallResult;
import dev.streamrec.avro.SeenSet;
import dev.streamrec.avro.UserFeatures;
import dev.streamrec.schemas.QueryableStates;

/**
 * What to read: the name of the job that publishes a queryable state (found through the Flink REST API) and the
 * state's descriptor (from {@link QueryableStates}, so name and serializer match the job). Keys are user ids.
 */
public record QueryTarget<T>(String jobName, ValueStateDescriptor<T> descriptor) {
    public static final String INDEX_JOB = "index-job";
    public static final String DEDUP_JOB = "dedup-job";
    public static final String FEATURE_JOB = "feature-job";

    public QueryTarget {
        if (descriptor.getQueryableStateName() == null) {
            throw new IllegalArgumentException("descriptor " + descriptor.getName() + " is not queryable");
        }
    }

    /** The queryable state's name, e.g. {@code recall}. */
    public String stateName() {
        return descriptor.getQueryableStateName();
    }

    /** A recall-shaped state ({@link RecallResult} per user) published by {@code jobName} as {@code stateName}. */
    public static QueryTarget<RecallResult> recall(String jobName, String stateName) {
        return new QueryTarget<>(jobName, QueryableStates.recall(stateName));
    }

    /** index-job's {@code recall}. */
    public static QueryTarget<RecallResult> recall() {
        return recall(INDEX_JOB, QueryableStates.RECALL);
    }

    /** dedup-job's {@code fresh-recall} (recall without what the user has been shown). */
    public static QueryTarget<RecallResult> freshRecall() {
        return recall(DEDUP_JOB, QueryableStates.FRESH_RECALL);
    }

    /** dedup-job's {@code seen}: the user's seen set. */
    public static QueryTarget<SeenSet> seen() {
        return new QueryTarget<>(DEDUP_JOB, QueryableStates.seen());
    }

    /** feature-job's {@code user-features}. */
    public static QueryTarget<UserFeatures> userFeatures() {
        return new QueryTarget<>(FEATURE_JOB, QueryableStates.userFeatures());
    }

    @Override
    public String toString() {
        return jobName + "/" + stateName();
    }
}
