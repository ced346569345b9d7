package dev.streamrec.jobs.io;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class EventTimeSkewTest {
    static final long NOW = 1_700_000_000_000L;

    @Test
    void rejectsTheFarFutureTheFarPastOfTheNewestSeenAndNonsense() {
        EventTimeSkew skew = new EventTimeSkew(1_000, 10_000);
        assertThat(skew.check("t", NOW + 1_000, NOW)).isNull();
        assertThat(skew.check("t", NOW + 1_001, NOW).code()).isEqualTo(Rejection.TIME_SKEW);
        assertThat(skew.check("t", 0, NOW).detail()).contains("not a valid epoch millisecond");
        // The past bound follows the newest accepted time, not the wall clock (replays of history pass).
        assertThat(skew.check("t", NOW - 9_000, NOW)).isNull();
        assertThat(skew.check("t", NOW - 10_001 + 1_000, NOW)).as("behind the newest seen (NOW + 1000)").isNotNull();
        assertThat(skew.check("t", NOW - 8_000, NOW)).isNull();
        EventTimeSkew history = new EventTimeSkew(1_000, 10_000);
        assertThat(history.check("t", NOW - 365L * 24 * 3600 * 1000, NOW)).as("a year old, first seen").isNull();
    }
}
