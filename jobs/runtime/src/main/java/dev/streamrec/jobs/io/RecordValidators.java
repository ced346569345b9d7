package dev.streamrec.jobs.io;

import dev.streamrec.avro.ActionType;
import dev.streamrec.avro.Impression;
import dev.streamrec.avro.ItemEmbedding;
import dev.streamrec.avro.ItemStatus;
import dev.streamrec.avro.ModelPhase;
import dev.streamrec.avro.ModelVersion;
import dev.streamrec.avro.UserAction;
import dev.streamrec.jobs.config.CommonOptions;
import dev.streamrec.jobs.config.JobConfig;

/** Validation of the input records shared by several jobs (the bad-input policy in one place). */
public final class RecordValidators {
    private RecordValidators() {}

    /** Skew check for event streams (actions, impressions): future and past bounds. */
    public static EventTimeSkew skew(JobConfig config) {
        return new EventTimeSkew(config.getLong(CommonOptions.MAX_FUTURE_SKEW_MS), config.getLong(CommonOptions.MAX_PAST_SKEW_MS));
    }

    /**
     * Skew check for compacted topics (item-embeddings, model-versions): only the future bound. A compacted topic keeps
     * each key's latest record however old, so a reader legitimately meets records months behind the newest.
     */
    public static EventTimeSkew futureSkewOnly(JobConfig config) {
        return new EventTimeSkew(config.getLong(CommonOptions.MAX_FUTURE_SKEW_MS), Long.MAX_VALUE / 4);
    }

    public static Validator<UserAction> userAction(EventTimeSkew skew) {
        return (a, now) -> Checks.first(
                Checks.id("eventId", a.getEventId()),
                Checks.id("userId", a.getUserId()),
                Checks.id("itemId", a.getItemId()),
                a.getAction() == null || a.getAction() == ActionType.UNKNOWN
                        ? new Rejection(Rejection.UNKNOWN_ENUM, "action is not one this job knows") : null,
                Checks.finite("value", a.getValue()),
                skew.check("eventTime", a.getEventTime(), now));
    }

    /** Impressions (dedup-job, joiner-job): ids and event time. */
    public static Validator<Impression> impression(EventTimeSkew skew) {
        return (i, now) -> Checks.first(
                Checks.id("impressionId", i.getImpressionId()),
                Checks.id("userId", i.getUserId()),
                Checks.id("itemId", i.getItemId()),
                skew.check("eventTime", i.getEventTime(), now));
    }

    /** Model version control events: a version id and a known phase. */
    public static Validator<ModelVersion> modelVersion() {
        return (m, now) -> Checks.first(
                Checks.id("version", m.getVersion()),
                m.getPhase() == null || m.getPhase() == ModelPhase.UNKNOWN
                        ? new Rejection(Rejection.UNKNOWN_ENUM, "phase is not one this job knows") : null);
    }

    /**
     * Items: ids, status and event time. The vector is checked against its version's dimension later, by
     * {@link dev.streamrec.jobs.ItemVectorValidator}.
     */
    public static Validator<ItemEmbedding> itemEmbeddingWithoutVector(EventTimeSkew skew) {
        return (e, now) -> Checks.first(
                Checks.id("itemId", e.getItemId()),
                Checks.id("modelVersion", e.getModelVersion()),
                e.getStatus() == null || e.getStatus() == ItemStatus.UNKNOWN
                        ? new Rejection(Rejection.UNKNOWN_ENUM, "status is not one this job knows") : null,
                skew.check("eventTime", e.getEventTime(), now));
    }
}
