package dev.streamrec.jobs;

import java.util.List;

import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;

import dev.streamrec.jobs.config.JobConfig;
import dev.streamrec.jobs.config.Option;

/**
 * A pipeline job: its name, the prefix of its operator uids, its own options, and how it wires sources, functions and
 * sinks ({@link #wire}). Registered as a {@code java.util.ServiceLoader} service so the local stack finds every job in
 * the jars it is given; a job's {@code main} is {@code JobSetup.main(new TheJob(), args)}.
 */
public abstract class PipelineJob {
    private final String name;
    private final String uidPrefix;
    private final List<Option> options;

    protected PipelineJob(String name, String uidPrefix, List<Option> options) {
        this.name = name;
        this.uidPrefix = uidPrefix;
        this.options = List.copyOf(options);
    }

    public final String name() {
        return name;
    }

    /** Prefix of every operator uid of this job (uids are unique across the jobs sharing a cluster's savepoints). */
    public final String uidPrefix() {
        return uidPrefix;
    }

    /** The job's own options (the common ones come on top). */
    public final List<Option> options() {
        return options;
    }

    /** Wires the job's graph; sources and sinks come from {@code graph} (Kafka in production). */
    protected abstract void wire(JobGraph graph);

    /** Adds the job's graph to {@code env} (already configured by {@link JobSetup}), reading and writing Kafka. */
    public final void define(StreamExecutionEnvironment env, JobConfig config) {
        define(env, config, JobIO.kafka());
    }

    /** Adds the job's graph to {@code env}, reading and writing through {@code io}; then its dead-letter sink. */
    public final void define(StreamExecutionEnvironment env, JobConfig config, JobIO io) {
        JobGraph graph = new JobGraph(this, env, config, io);
        wire(graph);
        graph.finish();
    }

    public JobConfig parseConfig(String... args) {
        return JobConfig.parse(name, options, args);
    }
}
