package dev.streamrec.jobs.io;

import java.util.Properties;

import org.apache.avro.specific.SpecificRecordBase;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.connector.base.DeliveryGuarantee;
import org.apache.flink.connector.kafka.lineage.DefaultKafkaDatasetFacet;
import org.apache.flink.connector.kafka.lineage.DefaultKafkaDatasetIdentifier;
import org.apache.flink.connector.kafka.lineage.KafkaDatasetFacet;
import org.apache.flink.connector.kafka.lineage.KafkaDatasetFacetProvider;
import org.apache.flink.connector.kafka.sink.KafkaRecordSerializationSchema;
import org.apache.flink.connector.kafka.sink.KafkaSink;
import org.apache.flink.connector.kafka.sink.TransactionNamingStrategy;
import org.apache.flink.connector.kafka.source.KafkaSource;
import org.apache.flink.connector.kafka.source.enumerator.initializer.OffsetsInitializer;
import org.apache.flink.connector.kafka.source.reader.deserializer.KafkaRecordDeserializationSchema;
import org.apache.flink.util.Collector;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.OffsetResetStrategy;
import org.apache.kafka.clients.producer.ProducerRecord;

import dev.streamrec.jobs.config.CommonOptions;
import dev.streamrec.jobs.config.JobConfig;
import dev.streamrec.schemas.AvroSingleObjectSerde;
import dev.streamrec.schemas.Topic;

/** Kafka sources and sinks for the pipeline's Avro topics, configured the same way in every job. */
public final class KafkaIO {
    private KafkaIO() {}

    /**
     * Reads a topic as raw records; decode with {@link DecodeAndValidate} so bad bytes are dead-lettered. The user's
     * Kafka properties apply ({@link JobConfig#kafkaProperties()}); the read isolation, offset commits and group id
     * are the job's and stay as set here.
     */
    public static KafkaSource<RawRecord> rawSource(JobConfig config, Topic topic) {
        return KafkaSource.<RawRecord>builder()
                .setProperties(config.kafkaProperties())
                .setBootstrapServers(config.get(CommonOptions.BOOTSTRAP_SERVERS))
                .setTopics(config.topic(topic))
                .setGroupId(config.get(CommonOptions.TOPIC_PREFIX) + config.jobName())
                .setStartingOffsets(startingOffsets(config))
                .setDeserializer(new RawRecordDeserializer())
                // Upstream jobs write transactionally: never read aborted or uncommitted records.
                .setProperty("isolation.level", "read_committed")
                .setProperty("commit.offsets.on.checkpoint", "true")
                .build();
    }

    static OffsetsInitializer startingOffsets(JobConfig config) {
        String mode = config.get(CommonOptions.STARTING_OFFSETS);
        switch (mode) {
            case "earliest":
                return OffsetsInitializer.earliest();
            case "latest":
                return OffsetsInitializer.latest();
            case "committed-or-earliest":
                return OffsetsInitializer.committedOffsets(OffsetResetStrategy.EARLIEST);
            default:
                throw new IllegalArgumentException("unknown " + CommonOptions.STARTING_OFFSETS.key() + ": " + mode);
        }
    }

    /**
     * A sink writing Avro single-object-encoded values keyed by {@code key}. Exactly-once unless configured otherwise;
     * {@code sinkName} makes the transactional id prefix unique across the jobs sharing a cluster and stable across
     * restarts (prefix + job + sink).
     */
    public static <T extends SpecificRecordBase> KafkaSink<T> avroSink(
            JobConfig config, Topic topic, Class<T> type, RecordKey<T> key, String sinkName) {
        DeliveryGuarantee guarantee = deliveryGuarantee(config);
        Properties producer = producerProperties(config);
        return KafkaSink.<T>builder()
                .setBootstrapServers(config.get(CommonOptions.BOOTSTRAP_SERVERS))
                .setRecordSerializer(new AvroRecordSerializer<>(config.topic(topic), type, key))
                .setDeliveryGuarantee(guarantee)
                .setTransactionalIdPrefix(transactionalIdRoot(config) + sinkName)
                .setKafkaProducerConfig(producer)
                .setTransactionNamingStrategy(transactionNaming(config))
                .build();
    }

    /**
     * What every transactional id of the job's sinks starts with: topic prefix and job name. Two jobs whose roots
     * overlap would fence each other's producers (the cluster CLI refuses to submit such a job; JobSetup publishes the
     * root as a job parameter for it).
     */
    public static String transactionalIdRoot(JobConfig config) {
        return transactionalIdRoot(config.get(CommonOptions.TOPIC_PREFIX), config.jobName());
    }

    /** {@link #transactionalIdRoot(JobConfig)} of a job by its topic prefix and name (what the cluster CLI checks). */
    public static String transactionalIdRoot(String topicPrefix, String jobName) {
        return topicPrefix + jobName + "-";
    }

    /** The sinks' producer settings: the job's defaults, overridden by the user's Kafka properties. */
    static Properties producerProperties(JobConfig config) {
        Properties producer = new Properties();
        producer.setProperty("transaction.timeout.ms", config.get(CommonOptions.TRANSACTION_TIMEOUT_MS));
        producer.setProperty("linger.ms", config.get(CommonOptions.PRODUCER_LINGER_MS));
        producer.setProperty("compression.type", config.get(CommonOptions.PRODUCER_COMPRESSION));
        producer.putAll(config.kafkaProperties());
        return producer;
    }

    static TransactionNamingStrategy transactionNaming(JobConfig config) {
        String mode = config.get(CommonOptions.TRANSACTION_NAMING);
        switch (mode) {
            case "pooling":
                return TransactionNamingStrategy.POOLING;
            case "incrementing":
                return TransactionNamingStrategy.INCREMENTING;
            default:
                throw new IllegalArgumentException("unknown " + CommonOptions.TRANSACTION_NAMING.key() + ": " + mode);
        }
    }

    static DeliveryGuarantee deliveryGuarantee(JobConfig config) {
        String mode = config.get(CommonOptions.DELIVERY);
        switch (mode) {
            case "exactly-once":
                return DeliveryGuarantee.EXACTLY_ONCE;
            case "at-least-once":
                return DeliveryGuarantee.AT_LEAST_ONCE;
            default:
                throw new IllegalArgumentException("unknown " + CommonOptions.DELIVERY.key() + ": " + mode);
        }
    }

    /** The Kafka key of a record: the id of the entity it is about. */
    @FunctionalInterface
    public interface RecordKey<T> extends java.io.Serializable {
        String of(T record);
    }

    static final class RawRecordDeserializer implements KafkaRecordDeserializationSchema<RawRecord> {
        private static final long serialVersionUID = 1L;

        @Override
        public void deserialize(ConsumerRecord<byte[], byte[]> r, Collector<RawRecord> out) {
            out.collect(new RawRecord(r.topic(), r.partition(), r.offset(), r.timestamp(), r.key(), r.value()));
        }

        @Override
        public TypeInformation<RawRecord> getProducedType() {
            return TypeInformation.of(RawRecord.class);
        }
    }

    /** Declares its topic (the lineage facet), which the pooled transaction naming needs to find lingering transactions. */
    static final class AvroRecordSerializer<T extends SpecificRecordBase>
            implements KafkaRecordSerializationSchema<T>, KafkaDatasetFacetProvider {
        private static final long serialVersionUID = 1L;
        private final String topic;
        private final AvroSingleObjectSerde<T> serde;
        private final RecordKey<T> key;

        AvroRecordSerializer(String topic, Class<T> type, RecordKey<T> key) {
            this.topic = topic;
            this.serde = AvroSingleObjectSerde.of(type);
            this.key = key;
        }

        @Override
        public java.util.Optional<KafkaDatasetFacet> getKafkaDatasetFacet() {
            return java.util.Optional.of(new DefaultKafkaDatasetFacet(DefaultKafkaDatasetIdentifier.ofTopics(java.util.List.of(topic))));
        }

        @Override
        public ProducerRecord<byte[], byte[]> serialize(T element, KafkaSinkContext context, Long timestamp) {
            String k = key.of(element);
            return new ProducerRecord<>(topic, null, timestamp,
                    k == null ? null : k.getBytes(java.nio.charset.StandardCharsets.UTF_8), serde.encode(element));
        }
    }
}
