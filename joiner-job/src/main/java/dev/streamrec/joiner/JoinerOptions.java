package dev.streamrec.joiner;

import java.util.List;

import dev.streamrec.jobs.config.Option;

/** joiner-job's own options (the common ones are in {@code CommonOptions}). */
public final class JoinerOptions {
    private static final long HOUR_MS = 3_600_000L;

    public static final Option WINDOW_MS = Option.of("joiner.window.ms", HOUR_MS,
            "An impression waits this long (event time) for the user's actions on the item; then its example is emitted.");
    public static final Option ALLOWED_LATENESS_MS = Option.of("joiner.allowed-lateness.ms", 6 * HOUR_MS,
            "A positive action this long after the window closed (event time) still yields a late positive example; "
            + "the impression's state is cleared then. Later actions go to dead letters (late-event).");
    public static final Option LATE_POSITIVES = Option.of("joiner.late-positives", "emit",
            "emit: a positive action after the window emits a second example of the impression marked late; "
            + "drop: it is counted (latePositivesDropped) instead.");
    public static final Option NEGATIVE_SAMPLE_RATE = Option.of("joiner.negative-sample-rate", 0.1,
            "r: the share of negatives kept, decided from a hash of the impressionId (a replay keeps the same ones); "
            + "a kept negative weighs 1/r.");
    public static final Option POSITIVE_ACTIONS = Option.of("joiner.positive-actions", "CLICK,LIKE,SHARE,COMMENT,PURCHASE,COMPLETE",
            "Action types that make an example positive (RATE counts by joiner.positive-rating; VIEW and DISLIKE are "
            + "labels only unless listed here).");
    public static final Option POSITIVE_RATING = Option.of("joiner.positive-rating", 4.0,
            "A RATE action with at least this value is positive.");

    public static final List<Option> ALL = List.of(WINDOW_MS, ALLOWED_LATENESS_MS, LATE_POSITIVES, NEGATIVE_SAMPLE_RATE,
            POSITIVE_ACTIONS, POSITIVE_RATING);

    private JoinerOptions() {}
}
