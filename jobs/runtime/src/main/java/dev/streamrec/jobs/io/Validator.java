package dev.streamrec.jobs.io;

import java.io.Serializable;

/** Checks one decoded record; returns null when it is usable, else why not. */
@FunctionalInterface
public interface Validator<T> extends Serializable {
    Rejection check(T record, long nowMillis);
}
