package dev.streamrec.dedup;

import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;

import dev.streamrec.avro.Impression;
import dev.streamrec.avro.RecallRefill;
import dev.streamrec.avro.RecallResult;
import dev.streamrec.jobs.JobGraph;
import dev.streamrec.jobs.JobSetup;
import dev.streamrec.jobs.PipelineJob;
import dev.streamrec.jobs.config.JobConfig;
import dev.streamrec.jobs.io.Checks;
import dev.streamrec.jobs.io.RecordValidators;
import dev.streamrec.schemas.Topic;

/**
 * dedup-job: impressions + recall -> fresh-recall (topic and queryable state), seen sets (queryable "seen") and
 * recall-refills (read by index-job).
 *
 * <pre>
 * impressions ─decode/validate─ event time ─▶ keyBy(userId) ─┐
 *                                                             ├─ FreshRecallFilter (queryable "seen", "fresh-recall") ─▶ fresh-recall
 * recall ─decode─────────────────────────────▶ keyBy(userId) ─┘                    └─ too few left ─▶ recall-refills
 * every bad record ─▶ dead-letters
 * </pre>
 *
 * <p>Event time is the impressions' alone: recall carries no clock (it is declared idle), so the dedup period runs on
 * the time users were shown items, and a recall that lags behind (index-job recomputes from older features) never
 * holds expiry back.
 */
public class DedupJob extends PipelineJob {
    public static final String NAME = "dedup-job";

    public DedupJob() {
        // Operator uids are "dedup-<name>": stable across versions, they map savepoint state to operators.
        super(NAME, "dedup", DedupOptions.ALL);
    }

    public static void main(String[] args) throws Exception {
        JobSetup.main(new DedupJob(), args);
    }

    @Override
    protected void wire(JobGraph graph) {
        JobConfig config = graph.config();
        DedupSettings settings = DedupSettings.from(config);

        DataStream<Impression> impressions = graph
                .read(Topic.IMPRESSIONS, "impressions", Impression.class,
                        RecordValidators.impression(RecordValidators.skew(config)), WatermarkStrategy.noWatermarks())
                .assignTimestampsAndWatermarks(JobSetup.watermarks(config, (i, ts) -> i.getEventTime()))
                .uid(graph.uid("impressions-watermarks")).name("impression event time");
        DataStream<RecallResult> recall = graph
                .read(Topic.RECALL, "recall", RecallResult.class,
                        (r, now) -> Checks.id("userId", r.getUserId()), JobSetup.withoutEventTimeClock());

        SingleOutputStreamOperator<RecallResult> freshRecall = impressions.keyBy(Impression::getUserId)
                .connect(recall.keyBy(RecallResult::getUserId))
                .transform("filter seen items", TypeInformation.of(RecallResult.class), new FreshRecallFilter(settings))
                .uid(graph.uid("fresh-recall")).name("filter seen items");

        graph.write(freshRecall, Topic.FRESH_RECALL, RecallResult.class, RecallResult::getUserId, "fresh-recall");
        graph.write(freshRecall.getSideOutput(FreshRecallFilter.REFILLS), Topic.RECALL_REFILLS, RecallRefill.class,
                RecallRefill::getUserId, "recall-refills");
    }
}
