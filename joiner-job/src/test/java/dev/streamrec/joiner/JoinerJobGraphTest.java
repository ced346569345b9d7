package dev.streamrec.joiner;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.List;

import org.junit.jupiter.api.Test;

import dev.streamrec.avro.ActionType;
import dev.streamrec.avro.Impression;
import dev.streamrec.avro.TrainingExample;
import dev.streamrec.avro.UserAction;
import dev.streamrec.jobs.config.JobConfig;
import dev.streamrec.schemas.Topic;
import dev.streamrec.testkit.CollectionIO;
import dev.streamrec.testkit.OperatorUids;

/**
 * The whole joiner-job graph without a broker: bounded collections in, collecting sinks out, on a local MiniCluster
 * with RocksDB: decoding, validation, the join and the dead-letter sink run as in production.
 */
class JoinerJobGraphTest {
    /** joiner-job has not been released yet: every uid is new. Once released, these are the uids savepoints map to. */
    static final List<String> UIDS = List.of(
            "Sink Committer: joiner-dead-letters-sink", "Sink Committer: joiner-training-examples-sink",
            "joiner-actions-decode", "joiner-actions-source", "joiner-actions-watermarks", "joiner-dead-letters-sink",
            "joiner-impressions-decode", "joiner-impressions-source", "joiner-impressions-watermarks", "joiner-join",
            "joiner-training-examples-sink");

    static JobConfig config() {
        return new JoinerJob().parseConfig("--parallelism", "1", "--checkpoint.interval.ms", "1000");
    }

    @Test
    void badInputGoesToDeadLettersAndGoodInputIsJoined() throws Exception {
        long now = System.currentTimeMillis();
        long hour = 3_600_000L;
        List<Impression> impressions = List.of(
                ExampleJoinerTest.impression("imp-1", "req-1", "u1", "i1", now - 3 * hour),
                ExampleJoinerTest.impression("imp-2", "req-1", "", "i1", now - 3 * hour),
                ExampleJoinerTest.impression("imp-3", "req-1", "u1", "i1", now + 3 * hour));
        List<UserAction> actions = List.of(
                ExampleJoinerTest.click("e1", "u1", "i1", now - 3 * hour + 1000),
                ExampleJoinerTest.action("e2", "u1", "i1", ActionType.RATE, Double.NaN, now - 3 * hour + 2000, null));
        CollectionIO io = new CollectionIO()
                .input(Topic.IMPRESSIONS, Impression.class, Impression::getUserId, impressions)
                .input(Topic.USER_ACTIONS, UserAction.class, UserAction::getUserId, actions)
                .raw(Topic.USER_ACTIONS, "u1".getBytes(StandardCharsets.UTF_8), "not avro".getBytes(StandardCharsets.UTF_8));
        io.run(new JoinerJob(), config());

        assertThat(io.deadLetterCodes()).containsExactlyInAnyOrder("missing-id", "time-skew", "bad-value", "undecodable");
        List<TrainingExample> examples = io.output(Topic.TRAINING_EXAMPLES);
        // The bounded inputs end with a final watermark: every window closes.
        assertThat(examples).singleElement().satisfies(e -> {
            assertThat(e.getExampleId()).isEqualTo("imp-1");
            assertThat(e.getLabel()).isEqualTo(1);
        });
    }

    @Test
    void everyOperatorHasAStableUid() {
        assertThat(OperatorUids.of(new JoinerJob(), config())).isEqualTo(UIDS.stream().sorted().toList());
    }
}
