package dev.streamrec.testkit;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;

import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.state.MapStateDescriptor;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.connector.kafka.source.KafkaSource;
import org.apache.flink.connector.kafka.source.enumerator.initializer.OffsetsInitializer;
import org.apache.flink.connector.kafka.source.reader.deserializer.KafkaRecordDeserializationSchema;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.co.BroadcastProcessFunction;
import org.apache.flink.util.CloseableIterator;
import org.apache.flink.util.Collector;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import dev.streamrec.jobs.JobSetup;

/**
 * An event-time stream joined with a control input read through {@link JobSetup#withoutEventTimeClock()}: the joined
 * operator's watermark follows the event-time stream (with {@code noWatermarks()} on the control input it would stay
 * at its minimum forever), and the control input's records still arrive.
 */
class ControlInputWatermarksTest {

    @RegisterExtension
    static final PipelineTestCluster CLUSTER = new PipelineTestCluster();

    private static final Duration DEADLINE = Duration.ofSeconds(120);
    private static final long T0 = 1_700_000_000_000L;

    @Test
    void controlInputDoesNotHoldBackTheWatermark() throws Exception {
        String events = CLUSTER.createTopic("wm-events", 1);
        String control = CLUSTER.createTopic("wm-control", 1);
        try (KafkaProducer<String, byte[]> producer = KafkaTestIO.producer(CLUSTER.bootstrapServers())) {
            producer.send(new ProducerRecord<>(control, null, T0, "c", "v2".getBytes(StandardCharsets.UTF_8))).get();
        }

        StreamExecutionEnvironment env = CLUSTER.environment();
        env.setParallelism(1);
        env.getConfig().setAutoWatermarkInterval(50);
        DataStream<String> eventStream = env.fromSource(source(events),
                        WatermarkStrategy.<String>forMonotonousTimestamps().withTimestampAssigner((value, ts) -> ts), "events")
                .uid("events");
        DataStream<String> controlStream = env.fromSource(source(control), JobSetup.<String>withoutEventTimeClock(), "control")
                .uid("control");
        MapStateDescriptor<String, String> seen = new MapStateDescriptor<>("seen", Types.STRING, Types.STRING);
        DataStream<String> observed = eventStream.connect(controlStream.broadcast(seen))
                .process(new BroadcastProcessFunction<String, String, String>() {
                    @Override
                    public void processElement(String value, ReadOnlyContext ctx, Collector<String> out) {
                        out.collect("watermark " + ctx.currentWatermark());
                    }

                    @Override
                    public void processBroadcastElement(String value, Context ctx, Collector<String> out) {
                        out.collect("control " + value);
                    }
                })
                .uid("observe");

        AtomicBoolean done = new AtomicBoolean();
        // Events keep arriving (one event-time second apart) until the job has seen the watermark move.
        CompletableFuture<Void> feeder = CompletableFuture.runAsync(() -> {
            try (KafkaProducer<String, byte[]> producer = KafkaTestIO.producer(CLUSTER.bootstrapServers())) {
                for (int i = 0; !done.get(); i++) {
                    producer.send(new ProducerRecord<>(events, null, T0 + i * 1000L, "e", ("e" + i).getBytes(StandardCharsets.UTF_8)));
                    producer.flush();
                    Thread.sleep(20);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });

        List<String> lines = new ArrayList<>();
        long deadline = System.nanoTime() + DEADLINE.toNanos();
        try (CloseableIterator<String> it = observed.executeAndCollect("control-input-watermarks")) {
            while (System.nanoTime() < deadline && !(sawControl(lines) && watermarkAdvanced(lines)) && it.hasNext()) {
                lines.add(it.next());
            }
        } finally {
            done.set(true);
            feeder.join();
        }
        assertThat(sawControl(lines)).as("control record delivered").isTrue();
        assertThat(watermarkAdvanced(lines)).as("watermark advanced past the events' start, observed: %s",
                lines.subList(Math.max(0, lines.size() - 5), lines.size())).isTrue();
    }

    private static boolean sawControl(List<String> lines) {
        return lines.contains("control v2");
    }

    private static boolean watermarkAdvanced(List<String> lines) {
        return lines.stream().filter(l -> l.startsWith("watermark "))
                .anyMatch(l -> Long.parseLong(l.substring("watermark ".length())) >= T0);
    }

    private static KafkaSource<String> source(String topic) {
        return KafkaSource.<String>builder()
                .setBootstrapServers(CLUSTER.bootstrapServers())
                .setTopics(topic)
                .setGroupId(CLUSTER.topicPrefix() + topic)
                .setStartingOffsets(OffsetsInitializer.earliest())
                .setDeserializer(KafkaRecordDeserializationSchema.valueOnly(StringDeserializer.class))
                .build();
    }
}
