package dev.streamrec.jobs;

import java.util.ArrayList;
import java.util.List;

import org.apache.avro.specific.SpecificRecordBase;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;

import dev.streamrec.avro.DeadLetter;
import dev.streamrec.jobs.config.JobConfig;
import dev.streamrec.jobs.io.DeadLetters;
import dev.streamrec.jobs.io.DecodeAndValidate;
import dev.streamrec.jobs.io.KafkaIO;
import dev.streamrec.jobs.io.RawRecord;
import dev.streamrec.jobs.io.Tombstones;
import dev.streamrec.jobs.io.Validator;
import dev.streamrec.schemas.Topic;

/**
 * What a job wires its graph with: the environment, its configuration, operator uids under the job's prefix, topic
 * inputs (read, decoded and validated under a stable pair of uids) and outputs. Every input's dead letters, and those
 * of any operator passed to {@link #deadLettersOf}, go to the one dead-letter sink that {@link PipelineJob} adds after
 * the job's {@code define}, so no job can forget to sink them.
 */
public final class JobGraph {
    private final PipelineJob job;
    private final StreamExecutionEnvironment env;
    private final JobConfig config;
    private final JobIO io;
    private final List<DataStream<DeadLetter>> deadLetters = new ArrayList<>();
    private boolean finished;

    JobGraph(PipelineJob job, StreamExecutionEnvironment env, JobConfig config, JobIO io) {
        this.job = job;
        this.env = env;
        this.config = config;
        this.io = io;
    }

    public StreamExecutionEnvironment env() {
        return env;
    }

    public JobConfig config() {
        return config;
    }

    /** The uid of one of the job's operators: {@code <job's uid prefix>-<name>}. Never change one: savepoint state maps to it. */
    public String uid(String name) {
        return job.uidPrefix() + "-" + name;
    }

    /**
     * Reads {@code topic}, decodes and validates it: uids {@code <stem>-source} and {@code <stem>-decode}; the dead
     * letters are collected. {@code watermarks} is the source's strategy (for a control input,
     * {@link JobSetup#withoutEventTimeClock()}).
     */
    public <T extends SpecificRecordBase> SingleOutputStreamOperator<T> read(
            Topic topic, String uidStem, Class<T> type, Validator<T> validator, WatermarkStrategy<RawRecord> watermarks) {
        return read(topic, uidStem, type, validator, null, watermarks);
    }

    /** Like {@link #read(Topic, String, Class, Validator, WatermarkStrategy)}; tombstones mean what {@code tombstones} says. */
    public <T extends SpecificRecordBase> SingleOutputStreamOperator<T> read(Topic topic, String uidStem, Class<T> type,
            Validator<T> validator, Tombstones<T> tombstones, WatermarkStrategy<RawRecord> watermarks) {
        return decode(topic, uidStem, watermarks, DecodeAndValidate.of(job.name(), type, validator, tombstones));
    }

    /**
     * Like {@link #read(Topic, String, Class, Validator, WatermarkStrategy)}, but what goes on is {@code packer}'s
     * record made from each usable one and the bytes it came in.
     */
    public <T extends SpecificRecordBase, O> SingleOutputStreamOperator<O> readPacked(Topic topic, String uidStem,
            Class<T> type, Validator<T> validator, WatermarkStrategy<RawRecord> watermarks,
            DecodeAndValidate.Packer<T, O> packer, Class<O> packedType) {
        return decode(topic, uidStem, watermarks, DecodeAndValidate.packed(job.name(), type, validator, packer, packedType));
    }

    private <O> SingleOutputStreamOperator<O> decode(Topic topic, String uidStem, WatermarkStrategy<RawRecord> watermarks,
                                                     DecodeAndValidate<?, O> decode) {
        SingleOutputStreamOperator<O> decoded = env
                .fromSource(io.source(config, topic), watermarks, topic.baseName())
                .uid(uid(uidStem + "-source"))
                .process(decode)
                .uid(uid(uidStem + "-decode")).name("decode " + topic.baseName());
        return deadLettersOf(decoded);
    }

    /** Sends the dead letters {@code operator} emits to {@link DeadLetters#TAG} to the job's dead-letter sink. */
    public <O extends SingleOutputStreamOperator<?>> O deadLettersOf(O operator) {
        checkOpen();
        deadLetters.add(operator.getSideOutput(DeadLetters.TAG));
        return operator;
    }

    /** Writes {@code stream} to {@code topic} (uid {@code <sinkName>-sink}; transactional ids prefix + job + sinkName). */
    public <T extends SpecificRecordBase> void write(DataStream<T> stream, Topic topic, Class<T> type,
                                                     KafkaIO.RecordKey<T> key, String sinkName) {
        checkOpen();
        stream.sinkTo(io.sink(config, topic, type, key, sinkName))
                .uid(uid(sinkName + "-sink")).name(sinkName + " sink");
    }

    /** The dead-letter sink: every collected dead-letter stream, in one. */
    void finish() {
        checkOpen();
        if (!deadLetters.isEmpty()) {
            DataStream<DeadLetter> all = deadLetters.get(0);
            if (deadLetters.size() > 1) {
                all = all.union(deadLetters.subList(1, deadLetters.size()).toArray(DataStream[]::new));
            }
            write(all, Topic.DEAD_LETTERS, DeadLetter.class, DeadLetters::sourceKey, "dead-letters");
        }
        finished = true;
    }

    private void checkOpen() {
        if (finished) {
            throw new IllegalStateException("the graph of " + job.name() + " is complete: its dead-letter sink is in place");
        }
    }
}
