package dev.streamrec.testkit;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.common.KafkaFuture;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.common.errors.RetriableException;
import org.apache.kafka.common.errors.TopicExistsException;

import dev.streamrec.schemas.Topic;

/** Creates topics with a plain Kafka {@link Admin} client. Creation is idempotent: existing topics are left as they are. */
public final class TopicAdmin {
    private static final long TIMEOUT_SECONDS = 60;

    private TopicAdmin() {}

    /**
     * Creates every {@link Topic} as {@code prefix + baseName} with {@code partitions} partitions and replication factor 1;
     * compacted topics get {@code cleanup.policy=compact}. Returns the topic names.
     */
    public static List<String> createPipelineTopics(String bootstrap, String prefix, int partitions) {
        List<NewTopic> topics = new ArrayList<>();
        for (Topic t : Topic.values()) {
            topics.add(newTopic(t.name(prefix), partitions, (short) 1, t.compacted() ? compacted() : Map.of()));
        }
        createTopics(bootstrap, topics);
        return topics.stream().map(NewTopic::name).toList();
    }

    /** Creates one topic (replication factor 1), unless it exists. */
    public static void createTopic(String bootstrap, String name, int partitions) {
        createTopic(bootstrap, name, partitions, (short) 1, Map.of());
    }

    /** Creates one topic with the given topic configs (e.g. {@link #compacted()}), unless it exists. */
    public static void createTopic(String bootstrap, String name, int partitions, Map<String, String> configs) {
        createTopic(bootstrap, name, partitions, (short) 1, configs);
    }

    public static void createTopic(String bootstrap, String name, int partitions, short replicationFactor,
            Map<String, String> configs) {
        createTopics(bootstrap, List.of(newTopic(name, partitions, replicationFactor, configs)));
    }

    /**
     * Creates the topics that do not exist yet and waits until the broker has acknowledged all of them and its
     * leaders serve every partition ({@link #awaitLeadersServe}).
     */
    public static void createTopics(String bootstrap, List<NewTopic> topics) {
        try (Admin admin = admin(bootstrap)) {
            Map<String, KafkaFuture<Void>> results = admin.createTopics(topics).values();
            for (Map.Entry<String, KafkaFuture<Void>> e : results.entrySet()) {
                try {
                    e.getValue().get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
                } catch (ExecutionException ex) {
                    if (!(ex.getCause() instanceof TopicExistsException)) {
                        throw new IllegalStateException("cannot create topic " + e.getKey(), ex.getCause());
                    }
                }
            }
            awaitLeadersServe(admin, topics);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while creating topics", e);
        } catch (TimeoutException e) {
            throw new IllegalStateException("timed out creating topics on " + bootstrap, e);
        }
    }

    /**
     * Waits until the leader of every partition of {@code topics} answers a ListOffsets request. In KRaft a topic's
     * creation is acknowledged once the controller has committed it, and the broker's metadata may name a leader
     * before that broker has taken the partition on: an idempotent producer that sends several batches into that gap
     * gets NOT_LEADER_OR_FOLLOWER for the first and then OUT_OF_ORDER_SEQUENCE_NUMBER for the rest, retried until the
     * delivery timeout (seen with kafka-clients 4.2 on a loaded machine). ListOffsets is served by the same leader
     * check as a produce request, so once it answers, the partition takes writes.
     */
    static void awaitLeadersServe(Admin admin, List<NewTopic> topics) throws InterruptedException, TimeoutException {
        List<String> names = topics.stream().map(NewTopic::name).toList();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(TIMEOUT_SECONDS);
        while (true) {
            try {
                // Described rather than taken from the request: a topic that existed already may have other counts.
                Map<TopicPartition, OffsetSpec> partitions = new HashMap<>();
                admin.describeTopics(names).allTopicNames().get(TIMEOUT_SECONDS, TimeUnit.SECONDS).forEach((name, d) ->
                        d.partitions().forEach(p -> partitions.put(new TopicPartition(name, p.partition()), OffsetSpec.latest())));
                admin.listOffsets(partitions).all().get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
                return;
            } catch (ExecutionException e) {
                if (!(e.getCause() instanceof RetriableException) || System.nanoTime() > deadline) {
                    throw new IllegalStateException("the leaders of the partitions of " + names + " did not serve within "
                            + TIMEOUT_SECONDS + " s", e.getCause());
                }
                Thread.sleep(100);
            }
        }
    }

    /** Names of the (non-internal) topics on the cluster. */
    public static Set<String> listTopics(String bootstrap) {
        try (Admin admin = admin(bootstrap)) {
            return admin.listTopics().names().get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        } catch (ExecutionException | TimeoutException e) {
            throw new IllegalStateException("cannot list topics on " + bootstrap, e);
        }
    }

    /** Topic configs for a compacted topic. */
    public static Map<String, String> compacted() {
        return Map.of(TopicConfig.CLEANUP_POLICY_CONFIG, TopicConfig.CLEANUP_POLICY_COMPACT);
    }

    /**
     * Waits until consumer group {@code groupId} has committed, on every partition of {@code topic}, the topic's end
     * offset. A Flink Kafka source commits at checkpoints, so this means the job's state includes everything that
     * was in the topic. Returns false if {@code timeout} passes first.
     */
    public static boolean awaitCommittedToEnd(String bootstrap, String groupId, String topic, java.time.Duration timeout)
            throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        try (Admin admin = admin(bootstrap)) {
            var partitions = admin.describeTopics(List.of(topic)).allTopicNames().get().get(topic).partitions();
            Map<org.apache.kafka.common.TopicPartition, org.apache.kafka.clients.admin.OffsetSpec> latest = new java.util.HashMap<>();
            for (var p : partitions) {
                latest.put(new org.apache.kafka.common.TopicPartition(topic, p.partition()),
                        org.apache.kafka.clients.admin.OffsetSpec.latest());
            }
            var ends = admin.listOffsets(latest).all().get();
            while (System.nanoTime() < deadline) {
                var committed = admin.listConsumerGroupOffsets(groupId).partitionsToOffsetAndMetadata().get();
                boolean done = ends.entrySet().stream().allMatch(e -> {
                    var c = committed.get(e.getKey());
                    return e.getValue().offset() == 0 || c != null && c.offset() >= e.getValue().offset();
                });
                if (done) {
                    return true;
                }
                Thread.sleep(100);
            }
        }
        return false;
    }

    public static Admin admin(String bootstrap) {
        Properties p = new Properties();
        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "60000");
        return Admin.create(KafkaLogins.applyTo(bootstrap, p));
    }

    private static NewTopic newTopic(String name, int partitions, short replicationFactor, Map<String, String> configs) {
        NewTopic t = new NewTopic(name, partitions, replicationFactor);
        if (!configs.isEmpty()) {
            t.configs(new HashMap<>(configs));
        }
        return t;
    }
}
