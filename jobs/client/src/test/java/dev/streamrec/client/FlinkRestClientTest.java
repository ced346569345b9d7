package dev.streamrec.client;

import static org.assertj.core.api.Assertions.assertThat;

import org.apache.flink.api.common.JobID;
import org.junit.jupiter.api.Test;

class FlinkRestClientTest {
    private static final JobID OLD = JobID.generate();
    private static final JobID NEW = JobID.generate();
    private static final JobID OTHER = JobID.generate();
    private static final JobID CANCELLED = JobID.generate();

    @Test
    void picksTheRunningJobOfThatNameStartedLast() throws Exception {
        String overview = "{\"jobs\":["
                + job(CANCELLED, "index-job", "CANCELED", 5000)
                + "," + job(OLD, "index-job", "RUNNING", 1000)
                + "," + job(NEW, "index-job", "RUNNING", 2000)
                + "," + job(OTHER, "feature-job", "RUNNING", 3000) + "]}";
        var jobs = FlinkRestClient.parseOverview(overview);
        assertThat(jobs).hasSize(4);
        assertThat(jobs.get(0)).isEqualTo(new FlinkRestClient.JobOverview(CANCELLED, "index-job", "CANCELED", 5000));
        assertThat(FlinkRestClient.runningJob(jobs, "index-job")).contains(NEW);
        assertThat(FlinkRestClient.runningJob(jobs, "feature-job")).contains(OTHER);
        assertThat(FlinkRestClient.runningJob(jobs, "dedup-job")).isEmpty();
        assertThat(FlinkRestClient.runningJob(FlinkRestClient.parseOverview("{\"jobs\":[]}"),
                "index-job")).isEmpty();
    }

    @Test
    void skipsFieldsItDoesNotUseAndRejectsWhatIsNotAnOverview() throws Exception {
        var jobs = FlinkRestClient.parseOverview("{\"other\":{\"a\":[1,{\"b\":2}]},\"jobs\":[{\"tasks\":{\"x\":[1]},\"jid\":\""
                + NEW + "\",\"name\":\"n\",\"state\":\"RUNNING\",\"start-time\":7}]}");
        assertThat(jobs).containsExactly(new FlinkRestClient.JobOverview(NEW, "n", "RUNNING", 7));
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> FlinkRestClient.parseOverview("[]"))
                .isInstanceOf(java.io.IOException.class).hasMessageContaining("unexpected jobs overview");
    }

    @Test
    void acceptsAnAddressWithoutScheme() {
        assertThat(new FlinkRestClient("jobmanager:8081/", java.time.Duration.ofSeconds(1)).baseUrl())
                .isEqualTo("http://jobmanager:8081");
    }

    private static String job(JobID id, String name, String state, long start) {
        return String.format("{\"jid\":\"%s\",\"name\":\"%s\",\"state\":\"%s\",\"start-time\":%d,\"end-time\":-1,"
                + "\"duration\":10,\"last-modification\":%d,\"tasks\":{\"running\":2,\"total\":2}}", id, name, state, start, start);
    }
}
