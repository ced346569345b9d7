package dev.streamrec.client;

import java.util.List;

import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.streaming.api.functions.sink.v2.DiscardingSink;
import org.apache.flink.util.Collector;

import dev.streamrec.avro.RecallResult;
import dev.streamrec.jobs.PipelineJob;
import dev.streamrec.jobs.config.JobConfig;
import dev.streamrec.jobs.config.Option;
import dev.streamrec.jobs.io.DecodeAndValidate;
import dev.streamrec.jobs.io.KafkaIO;
import dev.streamrec.schemas.QueryableStates;
import dev.streamrec.schemas.Topic;

/**
 * A stand-in for index-job's serving side, for the client's tests: reads RecallResult records from the {@code recall}
 * topic and keeps the latest per user in the queryable {@code recall} state, as index-job publishes it.
 */
final class RecallStoreJob implements PipelineJob {
    @Override
    public String name() {
        return QueryTarget.INDEX_JOB;
    }

    @Override
    public List<Option> options() {
        return List.of();
    }

    @Override
    public void define(StreamExecutionEnvironment env, JobConfig config) {
        env.fromSource(KafkaIO.rawSource(config, Topic.RECALL), WatermarkStrategy.noWatermarks(), "recall-source")
                .uid("recall-source")
                .process(new DecodeAndValidate<>(name(), RecallResult.class, (r, now) -> null))
                .uid("decode-recall")
                .keyBy(RecallResult::getUserId)
                .process(new StoreRecall())
                .uid("store-recall")
                .sinkTo(new DiscardingSink<>())
                .uid("discard");
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
