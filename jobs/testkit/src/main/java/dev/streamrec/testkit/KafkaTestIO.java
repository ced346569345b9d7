package dev.streamrec.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Function;
import java.util.function.ToLongFunction;

import org.apache.avro.specific.SpecificRecordBase;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

import dev.streamrec.schemas.AvroKafkaDeserializer;
import dev.streamrec.schemas.AvroKafkaSerializer;
import dev.streamrec.schemas.AvroSingleObjectSerde;

/**
 * Plain Kafka client helpers for tests, the local launcher and benchmarks. Keys are strings (UTF-8 bytes on the wire);
 * values are Avro single-object encoded records ({@link AvroKafkaSerializer}) or raw bytes.
 *
 * <p>Either use the static factories and readers, or an instance, which owns one idempotent producer:
 *
 * <pre>{@code
 * try (KafkaTestIO io = new KafkaTestIO(bootstrap)) {
 *     io.produce(topic, "u1", action, action.getEventTime());
 *     io.flush();
 *     List<KafkaTestIO.Received<UserAction>> got = io.consume(topic, UserAction.class, 1, Duration.ofSeconds(30));
 * }
 * }</pre>
 */
public final class KafkaTestIO implements AutoCloseable {

    /** One consumed record: coordinates, raw key and value, and the decoded value (null for raw reads and tombstones). */
    public record Received<V>(String topic, int partition, long offset, long timestamp, String key, byte[] value,
            V decoded) {
        @Override
        public String toString() {
            return topic + "-" + partition + "@" + offset + " ts=" + timestamp + " key=" + key + " value="
                    + (decoded != null ? decoded : value == null ? "null" : value.length + " bytes");
        }
    }

    private static final Map<Class<?>, AvroSingleObjectSerde<?>> SERDES = new ConcurrentHashMap<>();

    private final String bootstrap;
    private final KafkaProducer<String, byte[]> producer;
    private final java.util.concurrent.atomic.AtomicReference<Exception> sendFailure = new java.util.concurrent.atomic.AtomicReference<>();

    public KafkaTestIO(String bootstrap) {
        this.bootstrap = bootstrap;
        this.producer = producer(bootstrap);
    }

    public String bootstrapServers() {
        return bootstrap;
    }

    /** This instance's producer (string keys, byte[] values). */
    public Producer<String, byte[]> producer() {
        return producer;
    }

    /** Sends an Avro record (single-object encoded) and waits for the acknowledgement. */
    public <T extends SpecificRecordBase> RecordMetadata produce(String topic, String key, T value, long timestampMillis) {
        return produce(producer, topic, key, value == null ? null : encode(value), timestampMillis);
    }

    /** Sends raw bytes (e.g. a corrupt payload, or a tombstone with {@code null}) and waits for the acknowledgement. */
    public RecordMetadata produce(String topic, String key, byte[] value, long timestampMillis) {
        return produce(producer, topic, key, value, timestampMillis);
    }

    /** Sends Avro records without waiting; call {@link #flush()} afterwards. */
    /** Sends without waiting; a failed send makes the next {@link #flush()} throw, so no input is lost silently. */
    public <T extends SpecificRecordBase> void produceAsync(String topic, String key, T value, long timestampMillis) {
        producer.send(new ProducerRecord<>(topic, null, timestampMillis, key, value == null ? null : encode(value)),
                (metadata, error) -> {
                    if (error != null) {
                        sendFailure.compareAndSet(null, error);
                    }
                });
    }

    /** Sends every record without waiting, key and Kafka timestamp taken from each, then {@link #flush()}es. */
    public <T extends SpecificRecordBase> void produceAll(String topic, List<T> records, Function<T, String> key,
            ToLongFunction<T> timestampMillis) {
        for (T record : records) {
            produceAsync(topic, key.apply(record), record, timestampMillis.applyAsLong(record));
        }
        flush();
    }

    /**
     * Like {@link #produceAll(String, List, Function, ToLongFunction)} with the time of sending as each record's Kafka
     * timestamp (for a replay of history: timestamps long past would be deleted at once by time-based retention).
     */
    public <T extends SpecificRecordBase> void produceAll(String topic, List<T> records, Function<T, String> key) {
        produceAll(topic, records, key, record -> System.currentTimeMillis());
    }

    public void flush() {
        producer.flush();
        Exception failure = sendFailure.getAndSet(null);
        if (failure != null) {
            throw new IllegalStateException("a record could not be produced", failure);
        }
    }

    /** Reads {@code topic} from the beginning (read_committed) until {@code count} records or the timeout; see {@link #consume(String, String, Class, int, Duration)}. */
    public <T extends SpecificRecordBase> List<Received<T>> consume(String topic, Class<T> type, int count, Duration timeout) {
        return consume(bootstrap, topic, type, count, timeout);
    }

    public List<Received<byte[]>> consumeRaw(String topic, int count, Duration timeout) {
        return consumeRaw(bootstrap, topic, count, timeout);
    }

    @Override
    public void close() {
        producer.close(Duration.ofSeconds(10));
    }

    // ------------------------------------------------------------------ static factories

    /** Producer settings: string keys, byte[] values, acks=all, idempotent, small linger. */
    public static Properties producerProperties(String bootstrap) {
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
        p.put(ProducerConfig.LINGER_MS_CONFIG, "5");
        p.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, "60000");
        return KafkaLogins.applyTo(bootstrap, p);
    }

    /** A producer with string keys and raw byte[] values. */
    public static KafkaProducer<String, byte[]> producer(String bootstrap) {
        return producer(bootstrap, Map.of());
    }

    public static KafkaProducer<String, byte[]> producer(String bootstrap, Map<String, ?> overrides) {
        Properties p = producerProperties(bootstrap);
        p.putAll(overrides);
        return new KafkaProducer<>(p, new StringSerializer(), new ByteArraySerializer());
    }

    /** A transactional producer (string keys, byte[] values); {@code initTransactions()} is left to the caller. */
    public static KafkaProducer<String, byte[]> transactionalProducer(String bootstrap, String transactionalId) {
        return producer(bootstrap, Map.of(ProducerConfig.TRANSACTIONAL_ID_CONFIG, transactionalId,
                ProducerConfig.TRANSACTION_TIMEOUT_CONFIG, "60000"));
    }

    /** Sends one record with an explicit timestamp and waits for the acknowledgement. */
    public static <V> RecordMetadata produce(Producer<String, V> producer, String topic, String key, V value,
            long timestampMillis) {
        try {
            return producer.send(new ProducerRecord<>(topic, null, timestampMillis, key, value)).get(60, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        } catch (ExecutionException | TimeoutException e) {
            throw new IllegalStateException("cannot produce to " + topic, e.getCause() != null ? e.getCause() : e);
        }
    }

    /** Avro single-object encoding of {@code record}, as the jobs write it. */
    @SuppressWarnings("unchecked")
    public static <T extends SpecificRecordBase> byte[] encode(T record) {
        return serde((Class<T>) record.getClass()).encode(record);
    }

    /** Decodes Avro single-object bytes as {@code type} (also older released schema versions). */
    public static <T extends SpecificRecordBase> T decode(Class<T> type, byte[] bytes) {
        try {
            return serde(type).decode(bytes);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot decode " + type.getSimpleName(), e);
        }
    }

    @SuppressWarnings("unchecked")
    private static <T extends SpecificRecordBase> AvroSingleObjectSerde<T> serde(Class<T> type) {
        return (AvroSingleObjectSerde<T>) SERDES.computeIfAbsent(type, t -> AvroSingleObjectSerde.of(type));
    }

    // ------------------------------------------------------------------ static readers

    /** Consumer settings for reading without a group: read_committed, byte[] keys and values. */
    public static Properties consumerProperties(String bootstrap) {
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        p.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, "5000");
        return KafkaLogins.applyTo(bootstrap, p);
    }

    /**
     * Reads {@code topic} from the beginning of every partition with {@code isolation.level=read_committed} until
     * {@code count} records have been read or {@code timeout} has passed, and returns what was read (possibly fewer
     * than {@code count}: the caller asserts). Values are decoded as {@code type}; a value that does not decode fails
     * the read with a {@link org.apache.kafka.common.errors.SerializationException}.
     */
    public static <T extends SpecificRecordBase> List<Received<T>> consume(String bootstrap, String topic, Class<T> type,
            int count, Duration timeout) {
        AvroKafkaDeserializer<T> d = new AvroKafkaDeserializer<>(type);
        return consume(bootstrap, topic, count, timeout, bytes -> d.deserialize(topic, bytes));
    }

    /** Like {@link #consume(String, String, Class, int, Duration)} without decoding (decoded is the raw value). */
    public static List<Received<byte[]>> consumeRaw(String bootstrap, String topic, int count, Duration timeout) {
        return consume(bootstrap, topic, count, timeout, Function.identity());
    }

    /** Reads with a custom value decoder (not called for null values). */
    public static <V> List<Received<V>> consume(String bootstrap, String topic, int count, Duration timeout,
            Function<byte[], V> decoder) {
        return consumeUntil(bootstrap, topic, timeout, decoder, read -> read.size() >= count);
    }

    /**
     * Reads {@code topic} from the beginning (read_committed) until what was read satisfies {@code done} (tested after
     * every poll) or {@code timeout} has passed, and returns what was read: the caller asserts.
     */
    public static <T extends SpecificRecordBase> List<Received<T>> consumeUntil(String bootstrap, String topic, Class<T> type,
            Duration timeout, java.util.function.Predicate<List<Received<T>>> done) {
        AvroKafkaDeserializer<T> d = new AvroKafkaDeserializer<>(type);
        return consumeUntil(bootstrap, topic, timeout, bytes -> d.deserialize(topic, bytes), done);
    }

    /**
     * Reads {@code topic} from the beginning to its end as it is when called (read_committed: up to the last stable
     * offset), decoded as {@code type}; fails if that takes longer than {@code timeout}.
     */
    public static <T extends SpecificRecordBase> List<T> readToEnd(String bootstrap, String topic, Class<T> type,
                                                                   Duration timeout) {
        AvroKafkaDeserializer<T> d = new AvroKafkaDeserializer<>(type);
        long deadline = System.nanoTime() + timeout.toNanos();
        List<T> out = new ArrayList<>();
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(consumerProperties(bootstrap),
                new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            List<TopicPartition> partitions = partitions(consumer, topic, deadline);
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            java.util.Map<TopicPartition, Long> end = consumer.endOffsets(partitions);
            while (partitions.stream().anyMatch(p -> consumer.position(p) < end.get(p))) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("could not read " + topic + " to its end within " + timeout);
                }
                for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(200))) {
                    if (r.value() != null) {
                        out.add(d.deserialize(topic, r.value()));
                    }
                }
            }
        }
        return out;
    }

    private static <V> List<Received<V>> consumeUntil(String bootstrap, String topic, Duration timeout,
            Function<byte[], V> decoder, java.util.function.Predicate<List<Received<V>>> done) {
        long deadline = System.nanoTime() + timeout.toNanos();
        List<Received<V>> out = new ArrayList<>();
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(consumerProperties(bootstrap),
                new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            List<TopicPartition> partitions = partitions(consumer, topic, deadline);
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            while (!done.test(out)) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    break;
                }
                for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofNanos(Math.min(left, 200_000_000L)))) {
                    String key = r.key() == null ? null : new String(r.key(), StandardCharsets.UTF_8);
                    V decoded = r.value() == null ? null : decoder.apply(r.value());
                    out.add(new Received<>(r.topic(), r.partition(), r.offset(), r.timestamp(), key, r.value(), decoded));
                }
            }
        }
        return out;
    }

    private static List<TopicPartition> partitions(KafkaConsumer<?, ?> consumer, String topic, long deadline) {
        while (true) {
            List<PartitionInfo> infos;
            try {
                infos = consumer.partitionsFor(topic, Duration.ofSeconds(5));
            } catch (org.apache.kafka.common.errors.TimeoutException e) {
                infos = List.of();
            }
            if (infos != null && !infos.isEmpty()) {
                return infos.stream().map(i -> new TopicPartition(i.topic(), i.partition())).toList();
            }
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("topic " + topic + " not found");
            }
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted", e);
            }
        }
    }
}
