package dev.streamrec.joiner;

import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;

import dev.streamrec.avro.Impression;
import dev.streamrec.avro.PackedImpression;
import dev.streamrec.avro.TrainingExample;
import dev.streamrec.avro.UserAction;
import dev.streamrec.jobs.JobGraph;
import dev.streamrec.jobs.JobSetup;
import dev.streamrec.jobs.PipelineJob;
import dev.streamrec.jobs.config.JobConfig;
import dev.streamrec.jobs.io.RecordValidators;
import dev.streamrec.schemas.Topic;

/**
 * joiner-job: impressions + user-actions -> training-examples, exactly once.
 *
 * <pre>
 * impressions  ─decode/validate/pack─ event time ──▶ keyBy(user, item) ─┐
 *                                                                         ├─ ExampleJoiner ─▶ training-examples (transactions)
 * user-actions ─decode/validate─ event time ────────▶ keyBy(user, item) ─┘
 * every bad or too-late record ─▶ dead-letters
 * </pre>
 *
 * <p>Both inputs carry event time; the join's watermark is the lower of the two, so an impression's window closes only
 * when neither topic can still bring something before its end (within the out-of-orderness bound).
 */
public class JoinerJob extends PipelineJob {
    public static final String NAME = "joiner-job";

    public JoinerJob() {
        // Operator uids are "joiner-<name>": stable across versions, they map savepoint state to operators.
        super(NAME, "joiner", JoinerOptions.ALL);
    }

    public static void main(String[] args) throws Exception {
        JobSetup.main(new JoinerJob(), args);
    }

    @Override
    protected void wire(JobGraph graph) {
        JobConfig config = graph.config();
        // Every impression's state is written about three times within its window and read once after it: with
        // RocksDB's default leveled compaction, rewriting those versions took most of the CPU in the benchmark.
        // Universal compaction rewrites data fewer times (for more transient disk space).
        Configuration rocksdb = new Configuration();
        rocksdb.setString("state.backend.rocksdb.compaction.style", "UNIVERSAL");
        rocksdb.setString("state.backend.rocksdb.compression.per.level", "NO_COMPRESSION");
        rocksdb.setString("state.backend.rocksdb.options-factory", JoinerRocksDBOptions.class.getName());
        graph.env().configure(rocksdb);

        // Packed as decoded: the impression's bytes as they came are kept, the fields the join decides on beside them.
        DataStream<PackedImpression> impressions = graph
                .readPacked(Topic.IMPRESSIONS, "impressions", Impression.class,
                        RecordValidators.impression(RecordValidators.skew(config)), WatermarkStrategy.noWatermarks(),
                        ImpressionPacker::pack, PackedImpression.class)
                .assignTimestampsAndWatermarks(JobSetup.watermarks(config, (i, ts) -> i.getEventTime()))
                .uid(graph.uid("impressions-watermarks")).name("impression event time");
        DataStream<UserAction> actions = graph
                .read(Topic.USER_ACTIONS, "actions", UserAction.class,
                        RecordValidators.userAction(RecordValidators.skew(config)), WatermarkStrategy.noWatermarks())
                .assignTimestampsAndWatermarks(JobSetup.watermarks(config, (a, ts) -> a.getEventTime()))
                .uid(graph.uid("actions-watermarks")).name("action event time");

        SingleOutputStreamOperator<TrainingExample> examples = graph.deadLettersOf(impressions
                .keyBy(JoinKey::of, Types.STRING)
                .connect(actions.keyBy(JoinKey::of, Types.STRING))
                .transform("join impressions to actions", TypeInformation.of(TrainingExample.class), ExampleJoiner.from(config))
                .uid(graph.uid("join")));

        graph.write(examples, Topic.TRAINING_EXAMPLES, TrainingExample.class, e -> e.getImpression().getUserId(),
                "training-examples");
    }
}
