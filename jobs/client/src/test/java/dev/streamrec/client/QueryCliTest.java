package dev.streamrec.client;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;

import org.junit.jupiter.api.Test;

import dev.streamrec.avro.RecallResult;

/** The query command without a cluster: options, errors, exit status, and the recall printout. */
class QueryCliTest {

    @Test
    void helpListsCommandsAndOptions() {
        Run help = run("--help");
        assertThat(help.status()).isZero();
        assertThat(help.out()).contains("recall", "fresh-recall", "features", "--user", "--rest", "--proxy", "--job",
                "--timeout-ms", "--limit", "Exit status");
        // The served order, as index-job's RecallMerge makes it, and both data sets' id forms.
        assertThat(help.out().replaceAll("\\s+", " ")).contains("interleaved by channel: u2i 1st, i2i 1st, u2i 2nd",
                "u0, u1", "u<userId>", "m<movieId>");
        assertThat(help.out().lines()).allMatch(line -> line.length() <= 110);
    }

    @Test
    void agesAreNeverNegative() {
        assertThat(ServingText.ago(1_000, 1_250)).isEqualTo("250 ms ago");
        assertThat(ServingText.ago(1_000, 61_000)).isEqualTo("60.0 s ago");
        // The writer's clock ahead of the reader's: no "-250 ms ago".
        assertThat(ServingText.ago(1_250, 1_000)).isEqualTo("0 ms ago (its clock 250 ms ahead of this one)");
        RecallResult r = RecallClientIntegrationTest.result("u1", "v3", 1, 1_700_000_000_500L);
        assertThat(String.join("\n", ServingText.recall(r, 0, 1_700_000_000_000L))).doesNotContain(", -").contains("ahead");
    }

    @Test
    void badUsageIsExitStatus64WithTheReason() {
        assertUsage("--user is required", "recall");
        assertUsage("no command given", "--user", "u1");
        assertUsage("unknown command 'recal'", "recal", "--user", "u1");
        assertUsage("unknown option --colour", "recall", "--user", "u1", "--colour", "red");
        assertUsage("--timeout-ms takes a whole number >= 0, got 'soon'", "recall", "--user", "u1", "--timeout-ms", "soon");
        assertUsage("expected host:port, got 'localhost'", "recall", "--user", "u1", "--proxy", "localhost");
    }

    private static void assertUsage(String reason, String... args) {
        Run run = run(args);
        assertThat(run.status()).isEqualTo(QueryCli.USAGE);
        assertThat(run.out()).isEmpty();
        assertThat(run.err()).startsWith("query: " + reason).contains("bin/query --help");
    }

    @Test
    void unreachableFlinkIsExitStatus2WithTheReason() {
        // Nothing listens on port 1: the command says so at once instead of retrying until the deadline.
        Run run = run("recall", "--user", "u1", "--rest", "http://127.0.0.1:1", "--timeout-ms", "200");
        assertThat(run.status()).isEqualTo(QueryCli.NO_ANSWER);
        assertThat(run.out()).isEmpty();
        assertThat(run.err()).contains("no answer for u1 from index-job/recall", "Flink REST at http://127.0.0.1:1 unreachable",
                "Connection refused", "after 0 attempt(s)");
    }

    @Test
    void printsOneLinePerCandidate() {
        RecallResult r = RecallClientIntegrationTest.result("u1", "v3", 3, 1_700_000_000_000L);
        List<String> lines = ServingText.recall(r, 0, 1_700_000_001_000L);
        assertThat(lines).containsExactly(
                "model version:   v3",
                "computedAt:      2023-11-14T22:13:20Z (1700000000000, 1000 ms ago)",
                "sourceEventTime: 2023-11-14T22:13:19.750Z (1699999999750, 1250 ms ago)",
                "candidates:      3, u2i/i2i interleaved (rank order is the served order, not one score order)",
                "rank  item          score  channel",
                "   1  item-3     0.900000  u2i",
                "   2  item-10    0.887500  i2i",
                "   3  item-17    0.875000  u2i");
        assertThat(ServingText.recall(r, 1, 1_700_000_001_000L)).contains("candidates:      3 (first 1 shown), u2i/i2i interleaved (rank order is the served order, not one score order)").hasSize(6);
        assertThat(ServingText.recallSummary(r, 2, 1_700_000_001_000L))
                .isEqualTo("model v3, 3 candidates (u2i/i2i interleaved), computed 1000 ms ago: item-3 0.900 u2i | item-10 0.888 i2i | ...");
    }

    @Test
    void summarisesTheProxysErrorText() {
        RuntimeException remote = new RuntimeException("Failed request 7.\n Caused by: org.apache.flink.queryablestate."
                + "exceptions.UnknownLocationException: Could not retrieve location of state=recall of job=abc.\n"
                + "\tat org.apache.flink.queryablestate.client.proxy.KvStateClientProxyHandler.lambda$0(X.java:1)\n");
        assertThat(RecallClient.summary(remote)).isEqualTo("org.apache.flink.queryablestate.exceptions."
                + "UnknownLocationException: Could not retrieve location of state=recall of job=abc.");
        assertThat(RecallClient.summary(new java.net.ConnectException())).isEqualTo("ConnectException");
        assertThat(RecallClient.summary(new java.io.IOException(new java.net.ConnectException("Connection refused"))))
                .isEqualTo("java.net.ConnectException: Connection refused");
    }

    /** One run of the command: exit status, stdout, stderr. */
    record Run(int status, String out, String err) {}

    static Run run(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int status = QueryCli.run(args, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Run(status, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }
}
