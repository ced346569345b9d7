package dev.streamrec.tools;

import java.time.Duration;

import org.apache.flink.api.common.JobID;

import dev.streamrec.client.FlinkRestClient;
import dev.streamrec.client.IndexShardMetrics;

/**
 * The index's item count as its shards report it: the {@code version.<v>.items} gauges summed over the shards of the
 * running job called {@code jobName}, read through Flink REST. The job is looked up on every read, so a restarted job
 * (new id) is followed.
 */
public final class RestIndexItemCount implements IndexItemCount {
    private static final Duration LOOKUP_TIMEOUT = Duration.ofSeconds(10);
    private final FlinkRestClient rest;
    private final String jobName;

    public RestIndexItemCount(FlinkRestClient rest, String jobName) {
        this.rest = rest;
        this.jobName = jobName;
    }

    @Override
    public long items(String version) throws Exception {
        JobID job = rest.runningJob(jobName, LOOKUP_TIMEOUT)
                .orElseThrow(() -> new IllegalStateException("no running job '" + jobName + "' at " + rest.baseUrl()));
        return IndexShardMetrics.versionItems(rest, job.toString(), version);
    }

    @Override
    public String describe() {
        return jobName + "'s shards (Flink REST " + rest.baseUrl() + ")";
    }
}
