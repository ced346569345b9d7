package dev.streamrec.testkit;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;

import org.apache.avro.specific.SpecificRecordBase;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.connector.sink2.Sink;
import org.apache.flink.api.connector.sink2.SinkWriter;
import org.apache.flink.api.connector.sink2.WriterInitContext;
import org.apache.flink.api.connector.source.Source;
import org.apache.flink.api.connector.source.util.ratelimit.RateLimiterStrategy;
import org.apache.flink.connector.datagen.source.DataGeneratorSource;
import org.apache.flink.connector.datagen.source.GeneratorFunction;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;

import dev.streamrec.avro.DeadLetter;
import dev.streamrec.jobs.JobIO;
import dev.streamrec.jobs.JobSetup;
import dev.streamrec.jobs.PipelineJob;
import dev.streamrec.jobs.config.JobConfig;
import dev.streamrec.jobs.io.KafkaIO;
import dev.streamrec.jobs.io.RawRecord;
import dev.streamrec.schemas.AvroSingleObjectSerde;
import dev.streamrec.schemas.Topic;

/**
 * A job's IO without a broker, for graph tests: each input topic is a bounded collection of raw records (read in
 * order at parallelism 1, so the job ends when all are read), each output topic a collecting sink whose records the
 * test reads after the job has finished. Runs in a MiniCluster in this JVM: the sinks collect into a static registry,
 * one per instance.
 */
public final class CollectionIO implements JobIO {
    private static final Map<String, List<Object>> COLLECTED = new ConcurrentHashMap<>();

    private final String id = UUID.randomUUID().toString();
    private final Map<Topic, List<RawRecord>> inputs = new EnumMap<>(Topic.class);
    private final Set<Topic> gated = EnumSet.noneOf(Topic.class);

    /** Adds records to a topic's input, encoded as a producer would (key = {@code key}, Avro single-object value). */
    public <T extends SpecificRecordBase> CollectionIO input(Topic topic, Class<T> type, Function<T, String> key, List<T> records) {
        AvroSingleObjectSerde<T> serde = AvroSingleObjectSerde.of(type);
        for (T r : records) {
            String k = key.apply(r);
            raw(topic, k == null ? null : k.getBytes(StandardCharsets.UTF_8), serde.encode(r));
        }
        return this;
    }

    /**
     * Makes {@code topic}'s input emit one record per completed checkpoint (the first at once). Completing a checkpoint
     * means every operator has processed what the other sources emitted before it, so records of this topic after the
     * first reach a job that has taken in the inputs read so far (for example users' features after the items).
     */
    public CollectionIO onePerCheckpoint(Topic topic) {
        gated.add(topic);
        return this;
    }

    /** Adds one record of raw bytes (for example bytes that are no message) to a topic's input. */
    public CollectionIO raw(Topic topic, byte[] key, byte[] value) {
        List<RawRecord> list = inputs.computeIfAbsent(topic, t -> new ArrayList<>());
        list.add(new RawRecord(topic.baseName(), 0, list.size(), System.currentTimeMillis(), key, value));
        return this;
    }

    @Override
    public Source<RawRecord, ?, ?> source(JobConfig config, Topic topic) {
        List<RawRecord> records = inputs.get(topic);
        if (records == null || records.isEmpty()) {
            // A bounded generator source cannot be empty; every input a job reads gets at least one record.
            throw new IllegalStateException("the graph test gives no input for topic " + topic.baseName());
        }
        List<RawRecord> copy = List.copyOf(records);
        GeneratorFunction<Long, RawRecord> byIndex = index -> copy.get(index.intValue());
        RateLimiterStrategy rate = gated.contains(topic) ? RateLimiterStrategy.perCheckpoint(1) : RateLimiterStrategy.noOp();
        return new DataGeneratorSource<>(byIndex, copy.size(), rate, TypeInformation.of(RawRecord.class));
    }

    @Override
    public <T extends SpecificRecordBase> Sink<T> sink(JobConfig config, Topic topic, Class<T> type,
                                                       KafkaIO.RecordKey<T> key, String sinkName) {
        return new CollectingSink<>(id + "/" + topic.baseName());
    }

    /** Runs {@code job} to its end on a local MiniCluster, reading and writing through this IO. */
    public CollectionIO run(PipelineJob job, JobConfig config) throws Exception {
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        JobSetup.configure(env, config);
        job.define(env, config, this);
        env.execute(job.name() + " graph test");
        return this;
    }

    /** What the job wrote to {@code topic} (in the order its sink received it). */
    @SuppressWarnings("unchecked")
    public <T> List<T> output(Topic topic) {
        List<Object> list = COLLECTED.getOrDefault(id + "/" + topic.baseName(), List.of());
        synchronized (list) {
            return (List<T>) new ArrayList<>(list);
        }
    }

    /** The reason codes of the dead letters the job wrote ({@code undecodable}, {@code bad-vector}, ...), sorted. */
    public List<String> deadLetterCodes() {
        return this.<DeadLetter>output(Topic.DEAD_LETTERS).stream().map(d -> d.getReason().split(":", 2)[0]).sorted().toList();
    }

    static final class CollectingSink<T> implements Sink<T> {
        private static final long serialVersionUID = 1L;
        private final String name;

        CollectingSink(String name) {
            this.name = name;
        }

        @Override
        public SinkWriter<T> createWriter(WriterInitContext context) {
            List<Object> list = COLLECTED.computeIfAbsent(name, n -> Collections.synchronizedList(new ArrayList<>()));
            return new SinkWriter<>() {
                @Override
                public void write(T element, Context context) {
                    // Kept as is, although object reuse is on: the jobs never modify a record after emitting it.
                    list.add(element);
                }

                @Override
                public void flush(boolean endOfInput) {}

                @Override
                public void close() {}
            };
        }
    }
}
