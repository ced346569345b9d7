package dev.streamrec.testkit;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import org.apache.flink.api.common.JobID;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.BasicTypeInfo;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.connector.kafka.source.KafkaSource;
import org.apache.flink.connector.kafka.source.enumerator.initializer.OffsetsInitializer;
import org.apache.flink.connector.kafka.source.reader.deserializer.KafkaRecordDeserializationSchema;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.core.execution.SavepointFormatType;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.streaming.api.functions.sink.v2.DiscardingSink;
import org.apache.flink.util.Collector;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import dev.streamrec.avro.ActionType;
import dev.streamrec.avro.UserAction;
import dev.streamrec.schemas.AvroSingleObjectSerde;
import dev.streamrec.schemas.Topic;

class PipelineTestClusterTest {

    @RegisterExtension
    static final PipelineTestCluster CLUSTER = new PipelineTestCluster();

    private static final Duration DEADLINE = Duration.ofSeconds(90);

    @Test
    void countsActionsPerUserInQueryableRocksDbState() throws Exception {
        CLUSTER.createPipelineTopics(2);
        String topic = Topic.USER_ACTIONS.name(CLUSTER.topicPrefix());
        assertThat(TopicAdmin.listTopics(CLUSTER.bootstrapServers()))
                .contains(topic, Topic.USER_FEATURES.name(CLUSTER.topicPrefix()));

        try (Admin admin = TopicAdmin.admin(CLUSTER.bootstrapServers())) {
            ConfigResource features = new ConfigResource(ConfigResource.Type.TOPIC, Topic.USER_FEATURES.name(CLUSTER.topicPrefix()));
            ConfigResource actions = new ConfigResource(ConfigResource.Type.TOPIC, topic);
            var configs = admin.describeConfigs(List.of(features, actions)).all().get(30, TimeUnit.SECONDS);
            assertThat(configs.get(features).get("cleanup.policy").value()).isEqualTo("compact");
            assertThat(configs.get(actions).get("cleanup.policy").value()).isEqualTo("delete");
            assertThat(admin.describeTopics(List.of(topic)).allTopicNames().get(30, TimeUnit.SECONDS).get(topic).partitions())
                    .hasSize(2);
        }
        CLUSTER.createPipelineTopics(2); // idempotent

        long t0 = 1_700_000_000_000L;
        try (KafkaTestIO io = new KafkaTestIO(CLUSTER.bootstrapServers())) {
            for (int i = 0; i < 5; i++) {
                io.produce(topic, "alice", action("e" + i, "alice", "item" + i, t0 + i), t0 + i);
            }
            for (int i = 0; i < 2; i++) {
                io.produce(topic, "bob", action("b" + i, "bob", "item" + i, t0 + i), t0 + i);
            }
            List<KafkaTestIO.Received<UserAction>> read = io.consume(topic, UserAction.class, 7, DEADLINE);
            assertThat(read).hasSize(7);
            assertThat(read).filteredOn(r -> r.key().equals("alice")).hasSize(5)
                    .allSatisfy(r -> assertThat(r.decoded().getUserId()).isEqualTo("alice"));
            assertThat(read.get(0).timestamp()).isBetween(t0, t0 + 4);
        }

        StreamExecutionEnvironment env = CLUSTER.environment();
        env.setParallelism(2);
        KafkaSource<byte[]> source = KafkaSource.<byte[]>builder()
                .setBootstrapServers(CLUSTER.bootstrapServers())
                .setTopics(topic)
                .setGroupId(CLUSTER.topicPrefix() + "count-test")
                .setStartingOffsets(OffsetsInitializer.earliest())
                .setDeserializer(KafkaRecordDeserializationSchema.valueOnly(ByteArrayDeserializer.class))
                .setProperty("isolation.level", "read_committed")
                .build();
        AvroSingleObjectSerde<UserAction> serde = AvroSingleObjectSerde.of(UserAction.class);
        env.fromSource(source, WatermarkStrategy.noWatermarks(), "user-actions")
                .uid("user-actions-source")
                .map(bytes -> serde.decode(bytes).getUserId().toString())
                .returns(Types.STRING)
                .uid("decode")
                .keyBy(userId -> userId)
                .process(new CountPerUser())
                .uid("count-per-user")
                .sinkTo(new DiscardingSink<>())
                .uid("discard");
        JobClient job = env.executeAsync("queryable-count");
        JobID jobId = job.getJobID();
        CLUSTER.awaitJobRunning(jobId, DEADLINE);

        assertThat(pollCount(jobId, "alice", 5)).isEqualTo(5L);
        assertThat(pollCount(jobId, "bob", 2)).isEqualTo(2L);

        assertThat(CLUSTER.miniCluster().getExecutionGraph(jobId).get(30, TimeUnit.SECONDS).getStateBackendName())
                .hasValueSatisfying(name -> assertThat(name.toLowerCase()).contains("rocksdb"));
        String savepoint = CLUSTER.miniCluster()
                .triggerSavepoint(jobId, null, false, SavepointFormatType.CANONICAL).get(60, TimeUnit.SECONDS);
        Path savepointPath = Path.of(savepoint.replaceFirst("^file:", ""));
        assertThat(savepointPath).startsWith(CLUSTER.savepointDir()).isDirectory();

        CLUSTER.cancelAllJobs();
        assertThat(job.getJobStatus().get(30, TimeUnit.SECONDS).isGloballyTerminalState()).isTrue();
    }

    @Test
    void brokerSupportsTransactionsAndReadCommitted() throws Exception {
        String topic = CLUSTER.createTopic("tx-test", 1);
        try (KafkaProducer<String, byte[]> producer =
                KafkaTestIO.transactionalProducer(CLUSTER.bootstrapServers(), CLUSTER.topicPrefix() + "tx")) {
            producer.initTransactions();

            producer.beginTransaction();
            producer.send(new ProducerRecord<>(topic, "k", bytes("committed-1")));
            producer.send(new ProducerRecord<>(topic, "k", bytes("committed-2")));
            producer.commitTransaction();

            producer.beginTransaction();
            producer.send(new ProducerRecord<>(topic, "k", bytes("aborted-1")));
            producer.flush();
            producer.abortTransaction();

            producer.beginTransaction();
            producer.send(new ProducerRecord<>(topic, "k", bytes("committed-3")));
            producer.commitTransaction();
        }
        List<KafkaTestIO.Received<byte[]>> read = KafkaTestIO.consumeRaw(CLUSTER.bootstrapServers(), topic, 3, DEADLINE);
        assertThat(read).extracting(r -> new String(r.value(), StandardCharsets.UTF_8))
                .containsExactly("committed-1", "committed-2", "committed-3");
        assertThat(read).extracting(KafkaTestIO.Received::key).containsOnly("k");
        // The aborted record and the transaction markers occupy offsets in between.
        assertThat(read.get(2).offset()).isGreaterThan(3);
    }

    private static long pollCount(JobID jobId, String user, long expected) throws Exception {
        ValueStateDescriptor<Long> descriptor = CountPerUser.descriptor();
        long deadline = System.nanoTime() + DEADLINE.toNanos();
        Long last = null;
        Throwable lastError = null;
        while (System.nanoTime() < deadline) {
            try {
                ValueState<Long> state = CLUSTER.queryableStateClient()
                        .getKvState(jobId, "count", user, BasicTypeInfo.STRING_TYPE_INFO, descriptor)
                        .get(10, TimeUnit.SECONDS);
                last = state.value();
                if (last != null && last == expected) {
                    return last;
                }
            } catch (ExecutionException e) {
                lastError = e.getCause(); // e.g. UnknownKvStateLocation until the job is running, or no state yet
            }
            Thread.sleep(100);
        }
        throw new AssertionError("count for " + user + " never reached " + expected + " (last " + last + ")", lastError);
    }

    private static UserAction action(String eventId, String user, String item, long time) {
        return UserAction.newBuilder()
                .setEventId(eventId)
                .setUserId(user)
                .setItemId(item)
                .setAction(ActionType.CLICK)
                .setValue(1.0)
                .setEventTime(time)
                .setRequestId(null)
                .build();
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    /** Counts actions per user in a queryable {@code ValueState<Long>} named "count". */
    static final class CountPerUser extends KeyedProcessFunction<String, String, Long> {
        private transient ValueState<Long> count;

        static ValueStateDescriptor<Long> descriptor() {
            ValueStateDescriptor<Long> d = new ValueStateDescriptor<>("count", Types.LONG);
            d.setQueryable("count");
            return d;
        }

        @Override
        public void open(OpenContext openContext) {
            count = getRuntimeContext().getState(descriptor());
        }

        @Override
        public void processElement(String userId, Context ctx, Collector<Long> out) throws Exception {
            Long c = count.value();
            long next = c == null ? 1 : c + 1;
            count.update(next);
            out.collect(next);
        }
    }
}
