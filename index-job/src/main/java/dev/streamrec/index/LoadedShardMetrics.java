package dev.streamrec.index;

import java.util.HashSet;
import java.util.Set;

import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.Histogram;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.runtime.metrics.DescriptiveStatisticsHistogram;

/**
 * One loaded shard's metrics, in the group {@code streamrec.shard.<n>}: counters and the search histogram the shard
 * updates, and gauges that read it (from the metric reporter's thread).
 */
final class LoadedShardMetrics {
    final Counter itemUpdates;
    final Counter staleUpdates;
    final Counter recallComputations;
    final Counter dimensionMismatches;
    /** One shard's search for one request (u2i and every i2i seed), in microseconds. */
    final Histogram shardSearchMicros;
    private final MetricGroup group;
    private final Set<String> versionsWithGauge = new HashSet<>();

    LoadedShardMetrics(MetricGroup group, LoadedShard shard) {
        this.group = group;
        itemUpdates = group.counter("itemUpdates");
        staleUpdates = group.counter("staleItemUpdates");
        recallComputations = group.counter("recallComputations");
        dimensionMismatches = group.counter("dimensionMismatches");
        shardSearchMicros = group.histogram("shardSearchMicros", new DescriptiveStatisticsHistogram(1000));
        group.gauge("restoreMillis", shard::restoreMillis);
        group.gauge("snapshotMillis", shard::snapshotMillis);
        group.gauge("snapshotBytes", shard::snapshotBytes);
        group.gauge("snapshotCurrent", () -> shard.snapshotCurrent() ? 1 : 0);
        group.gauge("compactions", shard::compactionCount);
    }

    /** Publishes the version's item count ({@code version.<v>.items}) the first time the shard holds its index. */
    void versionAdded(String version, LoadedShard shard) {
        if (versionsWithGauge.add(version)) {
            group.addGroup("version", version).gauge("items", () -> shard.items(version));
        }
    }
}
