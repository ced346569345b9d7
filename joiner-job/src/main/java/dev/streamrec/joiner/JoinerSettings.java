package dev.streamrec.joiner;

import java.io.Serializable;
import java.util.EnumSet;
import java.util.Set;

import dev.streamrec.avro.ActionType;
import dev.streamrec.avro.UserAction;
import dev.streamrec.jobs.config.JobConfig;

/** What the join needs from the options, checked once when the job is built. */
public record JoinerSettings(long windowMs, long allowedLatenessMs, boolean emitLatePositives, double sampleRate,
                             Set<ActionType> positiveActions, double positiveRating) implements Serializable {

    public JoinerSettings {
        if (windowMs <= 0 || allowedLatenessMs < 0 || !(sampleRate > 0 && sampleRate <= 1)) {
            throw new IllegalArgumentException("joiner options out of range: window " + windowMs + " ms, allowed lateness "
                    + allowedLatenessMs + " ms, negative sample rate " + sampleRate + " (must be in (0, 1])");
        }
        positiveActions = positiveActions.isEmpty() ? EnumSet.noneOf(ActionType.class) : EnumSet.copyOf(positiveActions);
    }

    public static JoinerSettings from(JobConfig config) {
        Set<ActionType> positive = EnumSet.noneOf(ActionType.class);
        for (String name : config.getList(JoinerOptions.POSITIVE_ACTIONS)) {
            try {
                positive.add(ActionType.valueOf(name.toUpperCase(java.util.Locale.ROOT)));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(JoinerOptions.POSITIVE_ACTIONS.key() + ": no action type " + name);
            }
        }
        String late = config.get(JoinerOptions.LATE_POSITIVES);
        if (!late.equals("emit") && !late.equals("drop")) {
            throw new IllegalArgumentException(JoinerOptions.LATE_POSITIVES.key() + " is emit or drop, not " + late);
        }
        return new JoinerSettings(config.getLong(JoinerOptions.WINDOW_MS), config.getLong(JoinerOptions.ALLOWED_LATENESS_MS),
                late.equals("emit"), config.getDouble(JoinerOptions.NEGATIVE_SAMPLE_RATE), positive,
                config.getDouble(JoinerOptions.POSITIVE_RATING));
    }

    /** Whether the action makes its impression's example positive. */
    public boolean isPositive(UserAction action) {
        if (action.getAction() == ActionType.RATE) {
            return positiveActions.contains(ActionType.RATE) || action.getValue() >= positiveRating;
        }
        return positiveActions.contains(action.getAction());
    }
}
