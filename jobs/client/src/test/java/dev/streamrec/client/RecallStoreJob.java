package dev.streamrec.client;

import java.util.List;

import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.streaming.api.functions.sink.v2.DiscardingSink;
import org.apache.flink.util.Collector;

import dev.streamrec.avro.RecallResult;
import dev.streamrec.jobs.JobGraph;
import dev.streamrec.jobs.PipelineJob;
import dev.streamrec.schemas.QueryableStates;
import dev.streamrec.schemas.Topic;

/**
 * A stand-in for index-job's serving side, for the client's tests: reads RecallResult records from the {@code recall}
 * topic and keeps the latest per user in the queryable {@code recall} state, as index-job publishes it.
 */
final class RecallStoreJob extends PipelineJob {
    RecallStoreJob() {
        super(QueryTarget.INDEX_JOB, "recall-store", List.of());
    }

    @Override
    protected void wire(JobGraph graph) {
        graph.read(Topic.RECALL, "recall", RecallResult.class, (r, now) -> null, WatermarkStrategy.noWatermarks())
                .keyBy(RecallResult::getUserId)
                .process(new StoreRecall())
                .uid(graph.uid("store"))
                .sinkTo(new DiscardingSink<>())
                .uid(graph.uid("discard"));
    }

    /** Keeps each user's latest result in the queryable state {@code recall}. */
    static final class StoreRecall extends KeyedProcessFunction<String, RecallResult, String> {
        private transient ValueState<RecallResult> recall;

        @Override
        public void open(OpenContext openContext) {
            recall = getRuntimeContext().getState(QueryableStates.recall(QueryableStates.RECALL));
        }

        @Override
        public void processElement(RecallResult r, Context ctx, Collector<String> out) throws Exception {
            recall.update(r);
        }
    }
}
