package dev.streamrec.jobs;

import org.apache.avro.specific.SpecificRecordBase;
import org.apache.flink.api.connector.sink2.Sink;
import org.apache.flink.api.connector.source.Source;

import dev.streamrec.jobs.config.JobConfig;
import dev.streamrec.jobs.io.KafkaIO;
import dev.streamrec.jobs.io.RawRecord;
import dev.streamrec.schemas.Topic;

/**
 * Where a job reads its topics from and writes them to. {@link #kafka()} in production; a graph test passes bounded
 * collections in and collecting sinks out (as Apache's flink-training jobs take their sources and sinks), so a whole
 * job graph runs without a broker, decoding, validation and dead letters included.
 */
public interface JobIO {
    /** The raw records of a topic (decoded and validated by the job, so bad bytes become dead letters). */
    Source<RawRecord, ?, ?> source(JobConfig config, Topic topic);

    /** The sink of an output topic, keyed by {@code key}; {@code sinkName} names its transactional ids. */
    <T extends SpecificRecordBase> Sink<T> sink(JobConfig config, Topic topic, Class<T> type, KafkaIO.RecordKey<T> key,
                                                String sinkName);

    /** Kafka topics, as configured ({@link KafkaIO}). */
    static JobIO kafka() {
        return KafkaJobIO.INSTANCE;
    }

    /** The production IO: Kafka sources and exactly-once sinks. */
    final class KafkaJobIO implements JobIO {
        static final KafkaJobIO INSTANCE = new KafkaJobIO();

        private KafkaJobIO() {}

        @Override
        public Source<RawRecord, ?, ?> source(JobConfig config, Topic topic) {
            return KafkaIO.rawSource(config, topic);
        }

        @Override
        public <T extends SpecificRecordBase> Sink<T> sink(JobConfig config, Topic topic, Class<T> type,
                                                           KafkaIO.RecordKey<T> key, String sinkName) {
            return KafkaIO.avroSink(config, topic, type, key, sinkName);
        }
    }
}
