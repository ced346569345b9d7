package dev.streamrec.jobs.io;

import java.io.Serializable;

/**
 * Why a record cannot be used. {@code code} is a short stable name (it labels the dead-letter metric);
 * {@code detail} says what exactly was wrong.
 */
public record Rejection(String code, String detail) implements Serializable {
    public static final String UNDECODABLE = "undecodable";
    public static final String MISSING_ID = "missing-id";
    public static final String UNKNOWN_ENUM = "unknown-enum";
    public static final String BAD_VALUE = "bad-value";
    public static final String BAD_VECTOR = "bad-vector";
    public static final String TIME_SKEW = "time-skew";
    public static final String HOLD_EXPIRED = "hold-expired";
    public static final String DIMENSION_CONFLICT = "dimension-conflict";
    /** Too far behind the event-time watermark to be used (e.g. an action after its impression's allowed lateness). */
    public static final String LATE_EVENT = "late-event";

    public String reason() {
        return code + ": " + detail;
    }
}
