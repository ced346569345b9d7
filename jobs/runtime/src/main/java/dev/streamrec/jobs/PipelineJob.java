package dev.streamrec.jobs;

import java.util.List;

import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;

import dev.streamrec.jobs.config.JobConfig;
import dev.streamrec.jobs.config.Option;

/**
 * A pipeline job: its name, its own options, and how it wires sources, functions and sinks. Registered as a
 * {@code java.util.ServiceLoader} service so the local stack finds every job in the jars it is given.
 */
public interface PipelineJob {
    String name();

    List<Option> options();

    /** Adds the job's graph to {@code env} (already configured by {@link JobSetup}). */
    void define(StreamExecutionEnvironment env, JobConfig config);

    default JobConfig parseConfig(String... args) {
        return JobConfig.parse(name(), options(), args);
    }
}
