package dev.streamrec.tools;

import java.io.PrintStream;
import java.time.Duration;
import java.util.function.Supplier;

/** Prints a progress line at most once per interval (the line is only built when printed). */
final class Progress {
    private final PrintStream out;
    private final long intervalNanos;
    private long next;

    Progress(PrintStream out, Duration interval) {
        this.out = out;
        this.intervalNanos = interval.toNanos();
        this.next = System.nanoTime() + intervalNanos;
    }

    void maybe(Supplier<String> line) {
        long now = System.nanoTime();
        if (now >= next) {
            out.println(line.get());
            next = now + intervalNanos;
        }
    }
}
