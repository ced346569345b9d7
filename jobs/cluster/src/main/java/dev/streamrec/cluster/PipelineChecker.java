package dev.streamrec.cluster;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

import dev.streamrec.avro.DeadLetter;
import dev.streamrec.avro.Impression;
import dev.streamrec.avro.UserAction;
import dev.streamrec.avro.TrainingExample;
import dev.streamrec.avro.UserFeatures;
import dev.streamrec.schemas.Topic;
import dev.streamrec.testkit.KafkaTestIO;

/**
 * The independent check of a run, with no code of the jobs: reads the input topics (what the pipeline was fed) and the
 * output topics read_committed (as a consumer of the pipeline would) and compares them. An action is accounted for
 * when the user's {@code updateSeq} reaches the number of the user's actions in user-actions when the check began; a
 * user-features record whose {@code updateSeq} does not increase is a duplicate, and one above the user's actions in
 * the topic (read after the outputs, so it holds all an output can reflect) means actions applied twice. An
 * impression whose window has surely closed (its time plus the window and a margin for the watermark is before the
 * latest impression) has exactly one example with its impressionId (joiner-job runs with every negative kept);
 * another one with the same exampleId is a duplicate. Dead letters are counted (the feed sends valid records, so any
 * is reported), and an output partition held back by an open transaction is named.
 */
public final class PipelineChecker implements AutoCloseable {
    private final Tail actionsIn;
    private final Tail impressionsIn;
    private final Map<String, Long> actionsPerUser = new HashMap<>();
    private final Map<String, Long> impressionTimes = new HashMap<>();
    private final String bootstrap;
    private final Tail features;
    private final Tail examples;
    private final Tail deadLetters;
    private final long windowMs;
    private final long marginMs;
    private final Map<String, Long> lastSeq = new HashMap<>();
    private final Map<String, Integer> exampleCounts = new HashMap<>();
    private long featureDuplicates;
    private long deadLetterCount;
    private final Map<String, Long> deadLettersByReason = new TreeMap<>();

    /** What the check found: every count but {@code inputs} must be 0 for a clean run. */
    public record Report(long actions, long impressionsDue, long lostActions, long lostExamples, long duplicatedFeatures,
                         long duplicatedExamples, long overAppliedActions, long deadLetters, List<String> problems) {
        public long lost() {
            return lostActions + lostExamples;
        }

        public long duplicated() {
            return duplicatedFeatures + duplicatedExamples + overAppliedActions;
        }
    }

    /**
     * @param windowMs joiner-job's window
     * @param marginMs how far the joiner's watermark may trail the latest impression (its out-of-orderness and idle
     *                 partitions): impressions later than the latest minus window and margin are not due yet
     */
    public PipelineChecker(String bootstrap, String topicPrefix, long windowMs, long marginMs) {
        this.bootstrap = bootstrap;
        this.actionsIn = new Tail(bootstrap, Topic.USER_ACTIONS.name(topicPrefix));
        this.impressionsIn = new Tail(bootstrap, Topic.IMPRESSIONS.name(topicPrefix));
        this.features = new Tail(bootstrap, Topic.USER_FEATURES.name(topicPrefix));
        this.examples = new Tail(bootstrap, Topic.TRAINING_EXAMPLES.name(topicPrefix));
        this.deadLetters = new Tail(bootstrap, Topic.DEAD_LETTERS.name(topicPrefix));
        this.windowMs = windowMs;
        this.marginMs = marginMs;
    }

    /**
     * Reads on until every input in the input topics now is accounted for or {@code timeout} passes, then reports.
     * {@code sent} (what the feed was acknowledged for) must all be in the input topics.
     */
    public Report check(SteadyFeed.Sent sent, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        readInputs();
        Map<String, Long> expectedActions = Map.copyOf(actionsPerUser);
        Map<String, Long> expectedImpressions = Map.copyOf(impressionTimes);
        List<String> inputProblems = new ArrayList<>();
        sent.actionsPerUser().forEach((user, n) -> {
            if (expectedActions.getOrDefault(user, 0L) < n) {
                note(inputProblems, "user " + user + ": " + n + " actions acknowledged, " + expectedActions.getOrDefault(user, 0L)
                        + " in the topic");
            }
        });
        Report report;
        do {
            readOutputs();
            readInputs();
            report = compare(expectedActions, expectedImpressions, inputProblems);
            if (report.lost() == 0) {
                return report;
            }
            Thread.sleep(500);
        } while (System.nanoTime() < deadline);
        return report;
    }

    private void readInputs() {
        for (ConsumerRecord<byte[], byte[]> r : actionsIn.poll()) {
            actionsPerUser.merge(KafkaTestIO.decode(UserAction.class, r.value()).getUserId(), 1L, Long::sum);
        }
        for (ConsumerRecord<byte[], byte[]> r : impressionsIn.poll()) {
            Impression i = KafkaTestIO.decode(Impression.class, r.value());
            impressionTimes.put(i.getImpressionId(), i.getEventTime());
        }
    }

    private void readOutputs() {
        for (ConsumerRecord<byte[], byte[]> r : features.poll()) {
            UserFeatures f = KafkaTestIO.decode(UserFeatures.class, r.value());
            Long previous = lastSeq.get(f.getUserId());
            if (previous != null && f.getUpdateSeq() <= previous) {
                featureDuplicates++;
            } else {
                lastSeq.put(f.getUserId(), f.getUpdateSeq());
            }
        }
        for (ConsumerRecord<byte[], byte[]> r : examples.poll()) {
            exampleCounts.merge(KafkaTestIO.decode(TrainingExample.class, r.value()).getExampleId(), 1, Integer::sum);
        }
        for (ConsumerRecord<byte[], byte[]> r : deadLetters.poll()) {
            DeadLetter d = KafkaTestIO.decode(DeadLetter.class, r.value());
            deadLetterCount++;
            deadLettersByReason.merge(d.getJob() + " " + d.getTopic() + ": " + d.getReason().split("[:(]", 2)[0].strip(), 1L, Long::sum);
        }
    }

    private Report compare(Map<String, Long> expectedActions, Map<String, Long> expectedImpressions, List<String> inputProblems) {
        List<String> problems = new ArrayList<>(inputProblems);
        long lostActions = 0;
        long overApplied = 0;
        for (Map.Entry<String, Long> e : expectedActions.entrySet()) {
            long seq = lastSeq.getOrDefault(e.getKey(), 0L);
            if (seq < e.getValue()) {
                lostActions += e.getValue() - seq;
                note(problems, "user " + e.getKey() + ": updateSeq " + seq + " of " + e.getValue() + " actions in user-actions");
            }
        }
        for (Map.Entry<String, Long> e : lastSeq.entrySet()) {
            long inTopic = actionsPerUser.getOrDefault(e.getKey(), 0L);
            if (e.getValue() > inTopic) {
                overApplied += e.getValue() - inTopic;
                note(problems, "user " + e.getKey() + ": updateSeq " + e.getValue() + " but " + inTopic + " actions in user-actions");
            }
        }
        long latest = expectedImpressions.values().stream().mapToLong(Long::longValue).max().orElse(Long.MIN_VALUE);
        long due = 0;
        long lostExamples = 0;
        for (Map.Entry<String, Long> e : expectedImpressions.entrySet()) {
            if (e.getValue() + windowMs + marginMs < latest) {
                due++;
                if (!exampleCounts.containsKey(e.getKey())) {
                    lostExamples++;
                    note(problems, "impression " + e.getKey() + " at " + e.getValue() + ": no example");
                }
            }
        }
        long duplicatedExamples = 0;
        for (Map.Entry<String, Integer> e : exampleCounts.entrySet()) {
            if (e.getValue() > 1) {
                duplicatedExamples += e.getValue() - 1;
                note(problems, "example " + e.getKey() + " read " + e.getValue() + " times");
            }
        }
        if (featureDuplicates > 0) {
            note(problems, featureDuplicates + " user-features records without a higher updateSeq");
        }
        deadLettersByReason.forEach((reason, n) -> note(problems, n + " dead letters: " + reason));
        if (lostActions + lostExamples > 0) {
            heldBack(features.topic, problems);
            heldBack(examples.topic, problems);
        }
        long actions = expectedActions.values().stream().mapToLong(Long::longValue).sum();
        return new Report(actions, due, lostActions, lostExamples, featureDuplicates, duplicatedExamples,
                overApplied, deadLetterCount, List.copyOf(problems));
    }

    /** Partitions whose committed end (last stable offset) trails their end: an open transaction holds readers back. */
    private void heldBack(String topic, List<String> problems) {
        java.util.Properties uncommitted = KafkaTestIO.consumerProperties(bootstrap);
        uncommitted.put("isolation.level", "read_uncommitted");
        try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(uncommitted, new ByteArrayDeserializer(), new ByteArrayDeserializer());
             KafkaConsumer<byte[], byte[]> committed = new KafkaConsumer<>(KafkaTestIO.consumerProperties(bootstrap),
                     new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            List<TopicPartition> partitions = c.partitionsFor(topic, Duration.ofSeconds(30)).stream()
                    .map(i -> new TopicPartition(topic, i.partition())).toList();
            Map<TopicPartition, Long> end = c.endOffsets(partitions, Duration.ofSeconds(30));
            Map<TopicPartition, Long> stable = committed.endOffsets(partitions, Duration.ofSeconds(30));
            for (TopicPartition p : partitions) {
                if (stable.get(p) < end.get(p)) {
                    note(problems, p + ": last stable offset " + stable.get(p) + " of " + end.get(p)
                            + " (an open transaction holds read_committed readers back)");
                }
            }
        }
    }

    private static void note(List<String> problems, String problem) {
        if (problems.size() < 20) {
            problems.add(problem);
        }
    }

    @Override
    public void close() {
        actionsIn.close();
        impressionsIn.close();
        features.close();
        examples.close();
        deadLetters.close();
    }

    /** One topic read from its beginning, read_committed, a poll at a time; partitions created later are picked up. */
    private static final class Tail implements AutoCloseable {
        private final KafkaConsumer<byte[], byte[]> consumer;
        private final String topic;
        private final List<TopicPartition> assigned = new ArrayList<>();

        Tail(String bootstrap, String topic) {
            this.consumer = new KafkaConsumer<>(KafkaTestIO.consumerProperties(bootstrap), new ByteArrayDeserializer(),
                    new ByteArrayDeserializer());
            this.topic = topic;
        }

        /** Everything committed and not yet returned, up to the end as it was when called. */
        List<ConsumerRecord<byte[], byte[]>> poll() {
            List<PartitionInfo> infos = consumer.partitionsFor(topic, Duration.ofSeconds(30));
            if (infos != null && infos.size() != assigned.size()) {
                List<TopicPartition> all = infos.stream().map(i -> new TopicPartition(topic, i.partition())).toList();
                List<TopicPartition> added = all.stream().filter(p -> !assigned.contains(p)).toList();
                assigned.clear();
                assigned.addAll(all);
                consumer.assign(assigned);
                consumer.seekToBeginning(added);
            }
            List<ConsumerRecord<byte[], byte[]>> out = new ArrayList<>();
            if (assigned.isEmpty()) {
                return out;
            }
            Map<TopicPartition, Long> end = consumer.endOffsets(assigned, Duration.ofSeconds(30));
            long deadline = System.nanoTime() + Duration.ofMinutes(2).toNanos();
            while (assigned.stream().anyMatch(p -> consumer.position(p) < end.get(p)) && System.nanoTime() < deadline) {
                for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(200))) {
                    if (r.value() != null) {
                        out.add(r);
                    }
                }
            }
            return out;
        }

        @Override
        public void close() {
            consumer.close();
        }
    }

    /** For a report line: the counts by name. */
    static Map<String, Long> counts(Report r) {
        Map<String, Long> m = new java.util.LinkedHashMap<>();
        m.put("actions", r.actions());
        m.put("impressions_due", r.impressionsDue());
        m.put("lost", r.lost());
        m.put("duplicated", r.duplicated());
        m.put("dead_letters", r.deadLetters());
        return m;
    }
}
