package dev.streamrec.jobs;

import java.time.Duration;

import org.apache.flink.api.common.eventtime.SerializableTimestampAssigner;
import org.apache.flink.api.common.eventtime.WatermarkGenerator;
import org.apache.flink.api.common.eventtime.WatermarkOutput;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.core.execution.CheckpointingMode;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;

import dev.streamrec.jobs.config.CommonOptions;
import dev.streamrec.jobs.config.JobConfig;
import dev.streamrec.jobs.io.KafkaIO;

/** Environment settings every job runs with, and the job entry point used by each job's main. */
public final class JobSetup {
    /** Job parameter: what the transactional ids of the job's Kafka sinks start with. */
    public static final String TRANSACTIONAL_ID_ROOT = "streamrec.transactional-id-root";
    /** Job parameter: the job's topic prefix. */
    public static final String TOPIC_PREFIX = "streamrec.topic-prefix";

    private JobSetup() {}

    public static void configure(StreamExecutionEnvironment env, JobConfig config) {
        Configuration conf = new Configuration();
        // Any accidental Kryo use (state or network) fails at job build time instead of silently blocking evolution.
        conf.setString("pipeline.generic-types", "false");
        // Every operator must carry an explicit uid (savepoint state maps to it): building a graph with one missing fails.
        conf.setString("pipeline.auto-generate-uids", "false");
        conf.setString("state.backend.type", config.get(CommonOptions.STATE_BACKEND));
        conf.setString("execution.checkpointing.incremental", "true");
        conf.setString("pipeline.object-reuse", config.get(CommonOptions.OBJECT_REUSE));
        env.configure(conf);
        // Published with the job (REST /jobs/:id/config, user-config): the cluster CLI checks a job it submits against them.
        Configuration published = new Configuration();
        published.setString(TRANSACTIONAL_ID_ROOT, KafkaIO.transactionalIdRoot(config));
        published.setString(TOPIC_PREFIX, config.get(CommonOptions.TOPIC_PREFIX));
        env.getConfig().setGlobalJobParameters(published);
        long interval = config.getLong(CommonOptions.CHECKPOINT_INTERVAL_MS);
        if (interval > 0) {
            env.enableCheckpointing(interval, CheckpointingMode.EXACTLY_ONCE);
        } else if (!env.getCheckpointConfig().isCheckpointingEnabled()) {
            // One source for the interval: the cluster's config.yaml; without checkpoints no output would ever commit.
            throw new IllegalArgumentException("checkpointing is off: set execution.checkpointing.interval in the cluster's "
                    + "config.yaml, or --" + CommonOptions.CHECKPOINT_INTERVAL_MS.key());
        }
        env.getCheckpointConfig().setCheckpointingConsistencyMode(CheckpointingMode.EXACTLY_ONCE);
        env.setMaxParallelism(config.getInt(CommonOptions.MAX_PARALLELISM));
        int parallelism = config.getInt(CommonOptions.PARALLELISM);
        if (parallelism > 0) {
            env.setParallelism(parallelism);
        }
    }

    /** Event-time watermarks with the configured bounded out-of-orderness and idleness. */
    public static <T> WatermarkStrategy<T> watermarks(JobConfig config, SerializableTimestampAssigner<T> eventTime) {
        return WatermarkStrategy.<T>forBoundedOutOfOrderness(
                        Duration.ofMillis(config.getLong(CommonOptions.OUT_OF_ORDERNESS_MS)))
                .withTimestampAssigner(eventTime)
                .withIdleness(Duration.ofMillis(config.getLong(CommonOptions.IDLENESS_MS)));
    }

    /**
     * For reference and control inputs (the item catalog, model versions) that are joined with an event-time stream:
     * they carry no event-time clock of their own, so they declare themselves idle and the operator they feed takes
     * its watermark from the other input alone. (With no watermarks at all such an input would hold the joined
     * operator's watermark at its minimum forever.)
     */
    public static <T> WatermarkStrategy<T> withoutEventTimeClock() {
        return context -> new WatermarkGenerator<>() {
            @Override
            public void onEvent(T event, long eventTimestamp, WatermarkOutput output) {}

            @Override
            public void onPeriodicEmit(WatermarkOutput output) {
                output.markIdle();
            }
        };
    }

    /** Builds and submits a job on the given environment without waiting for it to finish. */
    public static JobClient submit(PipelineJob job, StreamExecutionEnvironment env, JobConfig config) throws Exception {
        configure(env, config);
        job.define(env, config);
        return env.executeAsync(job.name());
    }

    /** What a job's {@code main} calls: parse options (or print --help), build the graph, run it. */
    public static void main(PipelineJob job, String[] args) throws Exception {
        JobConfig config;
        try {
            config = job.parseConfig(args);
        } catch (JobConfig.HelpRequested help) {
            System.out.println(help.getMessage());
            return;
        }
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        configure(env, config);
        job.define(env, config);
        env.execute(job.name());
    }
}
