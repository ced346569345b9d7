package dev.streamrec.tools;

import java.io.PrintStream;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.Callable;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

import dev.streamrec.avro.DeadLetter;
import dev.streamrec.schemas.AvroSingleObjectSerde;
import dev.streamrec.schemas.Topic;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code bin/dead-letters}: the dead-letter topic, decoded and filtered. */
@Command(name = "dead-letters", sortOptions = false,
        description = {
            "Prints the dead-letter topic decoded: time, job, source topic, partition and offset, reason (code and "
                    + "detail), and the raw key and value (text when printable, else hex; cut after --bytes). Reads "
                    + "committed records only (read_committed), without a consumer group (nothing is committed)."},
        footer = {"", "Exit status: 0 done; 1 Kafka unreachable or the topic missing; 64 bad usage."})
public final class PrintDeadLetters implements Callable<Integer> {
    static final String NAME = "dead-letters";
    private static final AvroSingleObjectSerde<DeadLetter> SERDE = AvroSingleObjectSerde.of(DeadLetter.class);

    @Option(names = {"-h", "--help"}, usageHelp = true, description = "This text.")
    boolean help;

    @Option(names = "--job", paramLabel = "NAME", description = "Only dead letters of this job (e.g. index-job).")
    String job;

    @Option(names = "--reason", paramLabel = "CODE",
            description = "Only this reason code (e.g. bad-vector, undecodable, missing-id, unknown-enum, time-skew).")
    String reason;

    @Option(names = "--from-beginning", negatable = true, defaultValue = "true", fallbackValue = "true",
            description = "Start at the oldest dead letter (default); --no-from-beginning starts at the end.")
    boolean fromBeginning;

    @Option(names = "--follow", description = "Keep printing new dead letters as they come (until Ctrl-C or --limit).")
    boolean follow;

    @Option(names = "--limit", paramLabel = "N", defaultValue = "0", description = "Stop after N printed (0: no limit).")
    long limit;

    @Option(names = "--bytes", paramLabel = "N", defaultValue = "64", description = "Raw bytes shown of a key or value (default: ${DEFAULT-VALUE}).")
    int maxBytes;

    @Mixin
    KafkaConnection kafka = new KafkaConnection();

    PrintStream out = System.out;

    public static void main(String[] args) {
        System.exit(ToolCommand.execute(new PrintDeadLetters(), args, System.out, System.err));
    }

    @Override
    public Integer call() throws Exception {
        if (limit < 0 || maxBytes < 1) {
            throw UserError.usage("--limit must be >= 0 and --bytes >= 1");
        }
        String topic = kafka.topic(NAME, Topic.DEAD_LETTERS);
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(consumerProperties(kafka.clientProperties(NAME)),
                new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            List<PartitionInfo> infos = consumer.partitionsFor(topic, Duration.ofSeconds(15));
            if (infos == null || infos.isEmpty()) {
                throw UserError.failed("topic " + topic + " does not exist (wrong --topic.prefix or --bootstrap?)");
            }
            List<TopicPartition> partitions = infos.stream().map(p -> new TopicPartition(topic, p.partition())).toList();
            consumer.assign(partitions);
            if (fromBeginning) {
                consumer.seekToBeginning(partitions);
            } else {
                consumer.seekToEnd(partitions);
            }
            // read_committed end offsets: the last stable offsets, so a stop at them never waits on an open transaction.
            Map<TopicPartition, Long> ends = new HashMap<>(consumer.endOffsets(partitions, Duration.ofSeconds(15)));
            long read = 0;
            long printed = 0;
            while (limit == 0 || printed < limit) {
                if (!follow && reachedEnd(consumer, ends)) {
                    break;
                }
                for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(500))) {
                    read++;
                    DeadLetter d;
                    try {
                        d = SERDE.decode(r.value());
                    } catch (Exception e) {
                        out.println("(" + topic + " partition " + r.partition() + " offset " + r.offset()
                                + " is not a dead letter: " + e.getMessage() + ")");
                        continue;
                    }
                    if (matches(d)) {
                        out.println(DeadLetterText.format(d, maxBytes));
                        if (++printed == limit) {
                            break;
                        }
                    }
                }
            }
            out.println(printed + " dead letters printed (" + read + " read from " + topic + ")");
        }
        return ToolCommand.OK;
    }

    boolean matches(DeadLetter d) {
        return (job == null || job.equals(d.getJob())) && (reason == null || reason.equals(DeadLetterText.code(d)));
    }

    private static boolean reachedEnd(KafkaConsumer<byte[], byte[]> consumer, Map<TopicPartition, Long> ends) {
        for (Map.Entry<TopicPartition, Long> e : ends.entrySet()) {
            if (consumer.position(e.getKey()) < e.getValue()) {
                return false;
            }
        }
        return true;
    }

    static Properties consumerProperties(Properties client) {
        Properties p = new Properties();
        p.setProperty(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        p.setProperty(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        p.setProperty(ConsumerConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "15000");
        p.putAll(client);
        // The tool's own: only committed records, no group, no commits.
        p.setProperty(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        p.remove(ConsumerConfig.GROUP_ID_CONFIG);
        p.setProperty(ConsumerConfig.ALLOW_AUTO_CREATE_TOPICS_CONFIG, "false"); // a wrong prefix must not create a topic
        p.setProperty(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        return p;
    }
}
