package dev.streamrec.tools;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

import org.apache.flink.core.execution.JobClient;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import dev.streamrec.avro.ActionType;
import dev.streamrec.avro.DeadLetter;
import dev.streamrec.avro.ItemEmbedding;
import dev.streamrec.avro.ItemStatus;
import dev.streamrec.avro.ModelPhase;
import dev.streamrec.avro.ModelVersion;
import dev.streamrec.avro.UserAction;
import dev.streamrec.client.FlinkRestClient;
import dev.streamrec.index.IndexJob;
import dev.streamrec.jobs.JobSetup;
import dev.streamrec.schemas.AvroSingleObjectSerde;
import dev.streamrec.schemas.Topic;
import dev.streamrec.testkit.KafkaTestIO;
import dev.streamrec.testkit.PipelineTestCluster;
import dev.streamrec.testkit.TopicAdmin;

/**
 * The tools against a real broker: bin/publish-embeddings' logic with the real index-job on a MiniCluster as the
 * count it waits for (its shards' gauges through Flink REST), read back with read_committed consumers; bin/dead-letters
 * over real dead letters written with transactions (one aborted).
 */
class ToolsIntegrationTest {
    @RegisterExtension
    static final PipelineTestCluster CLUSTER = new PipelineTestCluster();

    private static final int DIMENSION = 8;
    private static final int ITEMS = 300;

    /** A command's exit status and what it printed. */
    record Run(int status, String out, String err) {}

    static Run run(Object command, String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        PrintStream o = new PrintStream(out, true, StandardCharsets.UTF_8);
        if (command instanceof PublishEmbeddings p) {
            p.out = o;
        } else if (command instanceof PrintDeadLetters d) {
            d.out = o;
        }
        int status = ToolCommand.execute(command, args, o, new PrintStream(err, true, StandardCharsets.UTF_8));
        Run run = new Run(status, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
        System.out.print(run.out() + run.err()); // what a user would have seen, in the test log
        return run;
    }

    @Test
    void publishesAVersionWaitsForTheIndexThenServesAndDeletes() throws Exception {
        CLUSTER.createPipelineTopics(2);
        String prefix = CLUSTER.topicPrefix();
        String bootstrap = CLUSTER.bootstrapServers();
        // The index's default dimension is not the file's: the items pass only if LOADING's dimension reached the job first.
        JobClient index = JobSetup.submit(new IndexJob(), CLUSTER.environment(), new IndexJob().parseConfig(
                "--bootstrap.servers", bootstrap, "--topic.prefix", prefix, "--parallelism", "2",
                "--checkpoint.interval.ms", "500", "--index.shards", "4", "--index.vector-dimension", "64",
                "--source.starting-offsets", "earliest"));
        CLUSTER.awaitJobRunning(index.getJobID(), Duration.ofMinutes(1));
        String rest = "http://127.0.0.1:" + CLUSTER.restPort();
        List<String> common = List.of("--bootstrap", bootstrap, "--topic.prefix", prefix, "--rest", rest,
                "--await-jobs", IndexJob.NAME, "--wait-timeout", "300");

        Path dir = CLUSTER.tempDir();
        Path bad = dir.resolve("bad.csv");
        Files.writeString(bad, "id,a,b\ni1,1,2\ni2,1\ni3,0,0\n");
        Run malformed = run(new PublishEmbeddings(), args(common, "--file", bad.toString(), "--version", "v2"));
        assertThat(malformed.status()).isEqualTo(ToolCommand.USAGE);
        assertThat(malformed.err()).contains("2 malformed lines, nothing sent", "line 3: dimension 1, expected 2 (as on line 2)",
                "line 4: the vector is all zeros");
        assertThat(endOffset(bootstrap, Topic.MODEL_VERSIONS.name(prefix)) + endOffset(bootstrap, Topic.ITEM_EMBEDDINGS.name(prefix)))
                .as("nothing sent for a malformed file").isZero();

        Map<String, float[]> vectors = vectors(ITEMS, 7);
        Path file = dir.resolve("items.csv");
        Files.writeString(file, "id," + String.join(",", java.util.Collections.nCopies(DIMENSION, "v")) + "\n"
                + vectors.entrySet().stream().map(e -> e.getKey() + "," + csv(e.getValue())).collect(Collectors.joining("\n")));
        Run published = run(new PublishEmbeddings(), args(common, "--file", file.toString(), "--version", "v2", "--category", "books"));
        assertThat(published.status()).as(published.err()).isEqualTo(ToolCommand.OK);
        assertThat(published.out()).contains(ITEMS + " embeddings of dimension " + DIMENSION, "index-job has read it",
                "absorbed: index-job's shards", "v2 SERVING", "done: " + ITEMS + " items of dimension 8 published as v2");

        List<KafkaTestIO.Received<ModelVersion>> phases = KafkaTestIO.consume(bootstrap, Topic.MODEL_VERSIONS.name(prefix),
                ModelVersion.class, 2, Duration.ofSeconds(30));
        assertThat(phases).hasSize(2);
        ModelVersion loading = phases.get(0).decoded();
        ModelVersion serving = phases.get(1).decoded();
        assertThat(phases).allSatisfy(r -> assertThat(r.key()).isEqualTo("v2"));
        assertThat(loading.getPhase()).isEqualTo(ModelPhase.LOADING);
        assertThat(loading.getExpectedItems()).isEqualTo(ITEMS);
        assertThat(loading.getDimension()).isEqualTo(DIMENSION);
        assertThat(serving.getPhase()).isEqualTo(ModelPhase.SERVING);
        assertThat(serving.getDimension()).isEqualTo(DIMENSION);
        assertThat(serving.getEventTime()).isGreaterThan(loading.getEventTime());

        List<KafkaTestIO.Received<ItemEmbedding>> items = KafkaTestIO.consume(bootstrap, Topic.ITEM_EMBEDDINGS.name(prefix),
                ItemEmbedding.class, ITEMS, Duration.ofSeconds(30));
        assertThat(items).hasSize(ITEMS);
        for (KafkaTestIO.Received<ItemEmbedding> r : items) {
            ItemEmbedding e = r.decoded();
            assertThat(r.key()).isEqualTo(e.getItemId());
            assertThat(e.getStatus()).isEqualTo(ItemStatus.ACTIVE);
            assertThat(e.getModelVersion()).isEqualTo("v2");
            assertThat(e.getCategory()).isEqualTo("books");
            assertThat(e.getEventTime()).isEqualTo(loading.getEventTime());
            float[] expected = vectors.get(e.getItemId());
            assertThat(e.getVector()).hasSize(DIMENSION);
            for (int i = 0; i < DIMENSION; i++) {
                assertThat(e.getVector().get(i)).isEqualTo(expected[i]);
            }
        }
        RestIndexItemCount count = new RestIndexItemCount(new FlinkRestClient(rest, Duration.ofSeconds(10)), IndexJob.NAME);
        assertThat(count.items("v2")).isEqualTo(ITEMS);

        List<String> gone = new ArrayList<>(vectors.keySet()).subList(0, 20);
        Path ids = dir.resolve("gone.txt");
        Files.writeString(ids, String.join("\n", gone) + "\n");
        Run deleted = run(new PublishEmbeddings(), args(common, "--file", ids.toString(), "--version", "v2", "--delete", "--wait"));
        assertThat(deleted.status()).as(deleted.err()).isEqualTo(ToolCommand.OK);
        assertThat(deleted.out()).contains("sent 20 deletes", "hold " + (ITEMS - 20) + " items of v2 (" + ITEMS + " before)");
        List<KafkaTestIO.Received<ItemEmbedding>> all = KafkaTestIO.consume(bootstrap, Topic.ITEM_EMBEDDINGS.name(prefix),
                ItemEmbedding.class, ITEMS + 20, Duration.ofSeconds(30));
        List<KafkaTestIO.Received<ItemEmbedding>> deletes = all.stream()
                .filter(r -> r.decoded().getStatus() == ItemStatus.DELETED).toList();
        assertThat(deletes).extracting(KafkaTestIO.Received::key).containsExactlyInAnyOrderElementsOf(gone);
        assertThat(deletes).allSatisfy(r -> {
            assertThat(r.decoded().getVector()).isEmpty();
            assertThat(r.decoded().getEventTime()).isGreaterThan(loading.getEventTime());
        });
        assertThat(count.items("v2")).isEqualTo(ITEMS - 20);
        index.cancel().get();
    }

    @Test
    void printsDeadLettersDecodedAndFiltered() throws Exception {
        String prefix = "dl-" + CLUSTER.topicPrefix();
        String bootstrap = CLUSTER.bootstrapServers();
        String topic = Topic.DEAD_LETTERS.name(prefix);
        TopicAdmin.createTopic(bootstrap, topic, 2);
        UserAction action = UserAction.newBuilder().setEventId("e1").setUserId("u1").setItemId("i1")
                .setAction(ActionType.CLICK).setValue(1.0).setEventTime(1000L).build();
        byte[] actionBytes = AvroSingleObjectSerde.of(UserAction.class).encode(action);
        String wrongTopic;
        try {
            AvroSingleObjectSerde.of(ItemEmbedding.class).decode(actionBytes);
            throw new AssertionError("decoded a UserAction as an ItemEmbedding");
        } catch (Exception e) {
            wrongTopic = e.getMessage();
        }
        DeadLetter onWrongTopic = deadLetter("index-job", "item-embeddings", 1, 42, "i1", actionBytes,
                "undecodable: " + wrongTopic, 1_700_000_000_000L);
        DeadLetter badVector = deadLetter("feature-job", "item-embeddings", 0, 7, null,
                "not avro at all".getBytes(StandardCharsets.UTF_8), "bad-vector: vector has dimension 10, expected 64",
                1_700_000_001_000L);
        DeadLetter later = deadLetter("index-job", "user-features", -1, -1, "u9", new byte[] {0, 1, 2},
                "missing-id: userId is missing", 1_700_000_002_000L);
        try (KafkaProducer<String, byte[]> producer = KafkaTestIO.transactionalProducer(bootstrap, prefix + "dl-writer")) {
            producer.initTransactions();
            producer.beginTransaction();
            for (DeadLetter d : List.of(onWrongTopic, badVector, later)) {
                producer.send(new ProducerRecord<>(topic, d.getJob(), KafkaTestIO.encode(d)));
            }
            producer.send(new ProducerRecord<>(topic, "x", "not a dead letter".getBytes(StandardCharsets.UTF_8)));
            producer.commitTransaction();
            producer.beginTransaction();
            producer.send(new ProducerRecord<>(topic, "index-job", KafkaTestIO.encode(deadLetter("index-job", "t", 0, 1, null,
                    null, "bad-value: from an aborted transaction", 1L))));
            producer.flush();
            producer.abortTransaction();
        }
        List<String> common = List.of("--bootstrap", bootstrap, "--topic.prefix", prefix);

        Run all = run(new PrintDeadLetters(), args(common));
        assertThat(all.status()).as(all.err()).isEqualTo(ToolCommand.OK);
        assertThat(all.out()).contains(
                "2023-11-14T22:13:20Z  index-job  item-embeddings partition 1 offset 42\n"
                        + "  reason  undecodable: a UserAction record (fingerprint ",
                "), expected ItemEmbedding\n  key     text \"i1\"\n  value   hex  c3 01 ",
                "2023-11-14T22:13:21Z  feature-job  item-embeddings partition 0 offset 7\n"
                        + "  reason  bad-vector: vector has dimension 10, expected 64\n"
                        + "  key     null\n  value   text \"not avro at all\"",
                "index-job  user-features (decoded, rejected later)\n  reason  missing-id: userId is missing\n"
                        + "  key     text \"u9\"\n  value   hex  00 01 02 (3 bytes)",
                "is not a dead letter: ",
                "3 dead letters printed (4 read from " + topic + ")")
                .doesNotContain("aborted");

        Run byJob = run(new PrintDeadLetters(), args(common, "--job", "index-job"));
        assertThat(byJob.out()).contains("2 dead letters printed").doesNotContain("feature-job");
        Run byReason = run(new PrintDeadLetters(), args(common, "--reason", "bad-vector"));
        assertThat(byReason.out()).contains("1 dead letters printed", "feature-job").doesNotContain("undecodable");
        Run limited = run(new PrintDeadLetters(), args(common, "--limit", "1", "--bytes", "4"));
        assertThat(limited.out()).contains("1 dead letters printed").containsOnlyOnce("  reason  ");
        Run cut = run(new PrintDeadLetters(), args(common, "--job", "index-job", "--reason", "undecodable", "--bytes", "4"));
        assertThat(cut.out()).contains("1 dead letters printed").containsPattern("value   hex  c3 01 [0-9a-f]{2} [0-9a-f]{2} \\.\\.\\. \\(\\d+ bytes\\)");

        // --follow from the end: only what is written after it started.
        CompletableFuture<Run> follow = CompletableFuture.supplyAsync(() -> run(new PrintDeadLetters(),
                args(common, "--follow", "--no-from-beginning", "--limit", "1")));
        DeadLetter fresh = deadLetter("index-job", "item-embeddings", 0, 99, "i99", null, "time-skew: eventTime is far ahead", 5L);
        try (KafkaTestIO kafka = new KafkaTestIO(bootstrap)) {
            while (!follow.isDone()) {
                // Repeated until the follower, started at the end, has seen one (it may seek after the first write).
                kafka.produce(topic, "index-job", fresh, System.currentTimeMillis());
                Thread.sleep(500);
            }
        }
        Run followed = follow.get(2, TimeUnit.MINUTES);
        assertThat(followed.out()).contains("time-skew: eventTime is far ahead", "1 dead letters printed")
                .doesNotContain("missing-id");

        Run missing = run(new PrintDeadLetters(), "--bootstrap", bootstrap, "--topic.prefix", "no-such-prefix.");
        assertThat(missing.status()).isEqualTo(ToolCommand.FAILED);
        assertThat(missing.err().strip()).isEqualTo("dead-letters: topic no-such-prefix.dead-letters does not exist"
                + " (wrong --topic.prefix or --bootstrap?)");
        Run usage = run(new PrintDeadLetters(), "--limit", "many");
        assertThat(usage.status()).isEqualTo(ToolCommand.USAGE);
        assertThat(usage.err().lines()).hasSize(1);
    }

    private static DeadLetter deadLetter(String job, String topic, int partition, long offset, String key, byte[] value,
                                         String reason, long time) {
        return DeadLetter.newBuilder().setJob(job).setTopic(topic).setPartition(partition).setOffset(offset)
                .setKey(key == null ? null : ByteBuffer.wrap(key.getBytes(StandardCharsets.UTF_8)))
                .setValue(value == null ? null : ByteBuffer.wrap(value)).setReason(reason).setTime(time).build();
    }

    static String[] args(List<String> common, String... more) {
        List<String> all = new ArrayList<>(common);
        all.addAll(List.of(more));
        return all.toArray(String[]::new);
    }

    private static Map<String, float[]> vectors(int count, long seed) {
        Random random = new Random(seed);
        Map<String, float[]> vectors = new java.util.LinkedHashMap<>();
        for (int i = 0; i < count; i++) {
            float[] v = new float[DIMENSION];
            for (int j = 0; j < DIMENSION; j++) {
                v[j] = (float) random.nextGaussian();
            }
            vectors.put("item-" + i, v);
        }
        return vectors;
    }

    private static String csv(float[] v) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < v.length; i++) {
            sb.append(i == 0 ? "" : ",").append(v[i]);
        }
        return sb.toString();
    }

    private static long endOffset(String bootstrap, String topic) throws Exception {
        try (Admin admin = TopicAdmin.admin(bootstrap)) {
            var partitions = admin.describeTopics(List.of(topic)).allTopicNames().get().get(topic).partitions();
            Map<TopicPartition, OffsetSpec> latest = new java.util.HashMap<>();
            partitions.forEach(p -> latest.put(new TopicPartition(topic, p.partition()), OffsetSpec.latest()));
            return admin.listOffsets(latest).all().get().values().stream().mapToLong(o -> o.offset()).sum();
        }
    }
}
