package dev.streamrec.dedup;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;

import dev.streamrec.avro.Impression;
import dev.streamrec.avro.RecallResult;
import dev.streamrec.jobs.config.JobConfig;
import dev.streamrec.schemas.Topic;
import dev.streamrec.testkit.CollectionIO;
import dev.streamrec.testkit.OperatorUids;

/**
 * The whole dedup-job graph without a broker: bounded collections in, collecting sinks out, on a local MiniCluster
 * with RocksDB: decoding, validation and the dead-letter sink run as in production.
 */
class DedupJobGraphTest {
    /** dedup-job has not been released yet: every uid is new. Once released, these are the uids savepoints map to. */
    static final List<String> UIDS = List.of(
            "Sink Committer: dedup-dead-letters-sink", "Sink Committer: dedup-fresh-recall-sink",
            "Sink Committer: dedup-recall-refills-sink", "dedup-dead-letters-sink", "dedup-fresh-recall",
            "dedup-fresh-recall-sink", "dedup-impressions-decode", "dedup-impressions-source",
            "dedup-impressions-watermarks", "dedup-recall-decode", "dedup-recall-refills-sink", "dedup-recall-source");

    static JobConfig config() {
        return new DedupJob().parseConfig("--parallelism", "1", "--checkpoint.interval.ms", "1000");
    }

    @Test
    void badImpressionsAndRecallGoToDeadLettersWithTheirReason() throws Exception {
        long now = System.currentTimeMillis();
        List<Impression> impressions = new ArrayList<>();
        impressions.add(FreshRecallFilterTest.impression("u1", "i1", now, "imp-1"));
        impressions.add(FreshRecallFilterTest.impression("u1", "", now, "imp-2"));
        impressions.add(FreshRecallFilterTest.impression("", "i1", now, "imp-3"));
        impressions.add(FreshRecallFilterTest.impression("u1", "i1", now, " "));
        impressions.add(FreshRecallFilterTest.impression("u1", "i2", now + 3 * 24 * 3_600_000L, "imp-5"));
        RecallResult noUser = FreshRecallFilterTest.recall("", now, 0, 3);
        CollectionIO io = new CollectionIO()
                .input(Topic.IMPRESSIONS, Impression.class, Impression::getUserId, impressions)
                .input(Topic.RECALL, RecallResult.class, r -> "k", List.of(FreshRecallFilterTest.recall("u1", now, 0, 5), noUser))
                .raw(Topic.IMPRESSIONS, "u1".getBytes(StandardCharsets.UTF_8), "not avro".getBytes(StandardCharsets.UTF_8));
        io.run(new DedupJob(), config());

        assertThat(io.deadLetterCodes()).containsExactlyInAnyOrder(
                "missing-id", "missing-id", "missing-id", "time-skew", "undecodable", "missing-id");
        List<RecallResult> fresh = io.output(Topic.FRESH_RECALL);
        assertThat(fresh).isNotEmpty().allMatch(r -> r.getUserId().equals("u1"));
    }

    @Test
    void everyOperatorHasAStableUid() {
        assertThat(OperatorUids.of(new DedupJob(), config())).isEqualTo(UIDS.stream().sorted().toList());
    }
}
