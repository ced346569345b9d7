package dev.streamrec.jobs.config;

import java.io.Serializable;

/** One configuration option: its key (as on the command line, without the dashes), default and what it does. */
public record Option(String key, String defaultValue, String description) implements Serializable {
    public static Option of(String key, Object defaultValue, String description) {
        return new Option(key, defaultValue == null ? null : String.valueOf(defaultValue), description);
    }
}
