package dev.streamrec.tools;

import java.io.PrintStream;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;

import dev.streamrec.client.FlinkRestClient;

/**
 * Waits until the running jobs that validate items have read a model-versions record, before its version's items are
 * sent: a job checks an item's dimension against the version's declared one, and an item that overtakes its LOADING
 * record (two topics, no order between them) would be checked against the default dimension. A Flink Kafka source
 * commits its offsets when a checkpoint completes (group id = topic prefix + job name), so a committed offset past the
 * record means the job's broadcast state holds it. Jobs that are not running are skipped: they read the record when
 * they start, before the items (the compacted topic keeps it).
 */
public final class JobsReadControl {
    private final Properties adminProperties;
    private final FlinkRestClient rest;
    private final String groupPrefix;
    private final List<String> jobNames;

    public JobsReadControl(Properties adminProperties, FlinkRestClient rest, String groupPrefix, List<String> jobNames) {
        this.adminProperties = adminProperties;
        this.rest = rest;
        this.groupPrefix = groupPrefix;
        this.jobNames = jobNames;
    }

    /** Returns when every running job of {@code jobNames} has committed past {@code record}; fails after {@code timeout}. */
    public void await(RecordMetadata record, Duration timeout, PrintStream out) throws Exception {
        TopicPartition partition = new TopicPartition(record.topic(), record.partition());
        long deadline = System.nanoTime() + timeout.toNanos();
        try (Admin admin = Admin.create(adminProperties)) {
            for (String job : jobNames) {
                if (rest.runningJob(job, Duration.ofSeconds(10)).isEmpty()) {
                    out.println("  " + job + " is not running at " + rest.baseUrl() + ": not waited for");
                    continue;
                }
                long start = System.nanoTime();
                while (committed(admin, groupPrefix + job, partition) <= record.offset()) {
                    if (System.nanoTime() > deadline) {
                        throw UserError.failed(job + " did not read the model-versions record (offset " + record.offset()
                                + " of " + partition + ", consumer group " + groupPrefix + job + ") within " + timeout
                                + "; its items were not sent (is it checkpointing?)");
                    }
                    Thread.sleep(200);
                }
                out.printf("  %s has read it (%.1f s)%n", job, (System.nanoTime() - start) / 1e9);
            }
        }
    }

    private static long committed(Admin admin, String group, TopicPartition partition) throws Exception {
        Map<TopicPartition, OffsetAndMetadata> offsets =
                admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get();
        OffsetAndMetadata o = offsets.get(partition);
        return o == null ? -1 : o.offset();
    }
}
