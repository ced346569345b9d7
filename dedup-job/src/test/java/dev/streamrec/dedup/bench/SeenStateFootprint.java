package dev.streamrec.dedup.bench;

import static dev.streamrec.local.bench.BenchStack.say;

import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.Set;

import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.java.tuple.Tuple2;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.state.rocksdb.EmbeddedRocksDBStateBackend;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.streaming.api.operators.KeyedProcessOperator;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.apache.flink.util.Collector;

import dev.streamrec.avro.SeenSet;
import dev.streamrec.schemas.AvroSingleObjectSerde;
import dev.streamrec.schemas.QueryableStates;
import dev.streamrec.schemas.Records;
import dev.streamrec.seen.SeenPolicy;
import dev.streamrec.seen.SeenTracker;

/**
 * What a seen set costs in RocksDB: the sets of many users, each shown {@code items} items spread over the 7-day
 * period (impression times from 7 days ago to now, item ids drawn from a large catalog), are built with the
 * representation's {@link SeenTracker}, written to keyed state through the job's own descriptor (queryable
 * {@code seen}, Avro serializer) on RocksDB, and checkpointed incrementally: the checkpoint's size is RocksDB's SST
 * files (after its flush and compression), divided by the users. The false-positive rate is measured on the first
 * sets against the truth (the items each was given), and every item given is checked to be seen (no false negative).
 */
final class SeenStateFootprint {
    private static final long DAY = SeenPolicy.DAY_MS;
    private static final int FP_USERS = 1000;

    private SeenStateFootprint() {}

    record Result(String representation, int users, int itemsPerUser, double bytesPerUser, double serializedBytesPerUser,
                  double falsePositiveRate, long falseNegatives, long lookups, double estimatedFalsePositiveRate,
                  double buildSeconds) {
        Map<String, Object> asMap() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("users", users);
            m.put("items_per_user", itemsPerUser);
            m.put("bytes_per_user", Math.round(bytesPerUser));
            m.put("serialized_bytes_per_user", Math.round(serializedBytesPerUser));
            m.put("false_positive_rate", falsePositiveRate);
            m.put("false_negatives", falseNegatives);
            m.put("unseen_lookups", lookups);
            m.put("estimated_false_positive_rate_mean", estimatedFalsePositiveRate);
            m.put("build_s", Math.round(buildSeconds));
            return m;
        }
    }

    /** Writes each (user, seen set) into the keyed state the job reads. */
    static final class StoreSeen extends KeyedProcessFunction<String, Tuple2<String, SeenSet>, Void> {
        private transient ValueState<SeenSet> seen;

        @Override
        public void open(OpenContext openContext) {
            Records.useGeneratedCoders();
            seen = getRuntimeContext().getState(QueryableStates.seen());
        }

        @Override
        public void processElement(Tuple2<String, SeenSet> value, Context ctx, Collector<Void> out) throws Exception {
            seen.update(value.f1);
        }
    }

    static Result measure(SeenPolicy.Representation representation, int users, int items, int fpLookups) throws Exception {
        SeenPolicy policy = SeenPolicy.defaults().withRepresentation(representation);
        long now = System.currentTimeMillis();
        long start = now - 7 * DAY + DAY / 24; // all within the period
        Random random = new Random(17);
        AvroSingleObjectSerde<SeenSet> serde = AvroSingleObjectSerde.of(SeenSet.class);
        KeyedOneInputStreamOperatorTestHarness<String, Tuple2<String, SeenSet>, Void> harness =
                new KeyedOneInputStreamOperatorTestHarness<>(new KeyedProcessOperator<>(new StoreSeen()), t -> t.f0, Types.STRING);
        harness.setStateBackend(new EmbeddedRocksDBStateBackend(true));
        java.nio.file.Path checkpoints = java.nio.file.Files.createTempDirectory("seen-footprint-");
        harness.setCheckpointStorage(new org.apache.flink.runtime.state.storage.FileSystemCheckpointStorage(checkpoints.toUri()));
        harness.setup();
        harness.open();
        long serialized = 0;
        long falsePositives = 0;
        long falseNegatives = 0;
        long lookups = 0;
        double estimated = 0;
        int perUserLookups = Math.max(1, fpLookups / FP_USERS);
        long t0 = System.nanoTime();
        for (int u = 0; u < users; u++) {
            SeenTracker tracker = SeenTracker.empty(policy);
            Set<String> truth = u < FP_USERS ? new HashSet<>() : null;
            for (int i = 0; i < items; i++) {
                String item = "i" + random.nextInt(10_000_000);
                long at = start + (long) i * (7 * DAY - DAY / 12) / items + random.nextInt(60_000);
                tracker.record(item, "u" + u + "-" + i, at);
                if (truth != null) {
                    truth.add(item);
                }
            }
            SeenSet record = tracker.toRecord();
            serialized += serde.encode(record).length - 10; // single-object header: not in state
            estimated += tracker.falsePositiveRate();
            if (truth != null) {
                for (String item : truth) {
                    if (!tracker.isSeen(item, now)) {
                        falseNegatives++;
                    }
                }
                for (int l = 0; l < perUserLookups; l++) {
                    lookups++;
                    if (tracker.isSeen("never-" + u + "-" + l, now)) {
                        falsePositives++;
                    }
                }
            }
            harness.processElement(Tuple2.of("user-" + u, record), 0);
            if (u > 0 && u % 100_000 == 0) {
                say(String.format(Locale.ROOT, "  %s: %,d users written (%.0f s)", representation, u, (System.nanoTime() - t0) / 1e9));
            }
        }
        OperatorSubtaskState snapshot = harness.snapshot(1, 1);
        long stateBytes = snapshot.getStateSize();
        double seconds = (System.nanoTime() - t0) / 1e9;
        harness.close();
        dev.streamrec.testkit.TempDirs.deleteRecursively(checkpoints);
        return new Result(representation.recordName(), users, items, (double) stateBytes / users, (double) serialized / users,
                (double) falsePositives / lookups, falseNegatives, lookups, estimated / users, seconds);
    }
}
