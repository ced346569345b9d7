package dev.streamrec.client;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import dev.streamrec.avro.RecallResult;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

/** What a lookup reports when Flink's REST API answers slowly: a real HTTP server that stops answering on cue. */
class RecallClientRestTest {
    private final CountDownLatch release = new CountDownLatch(1);
    private final AtomicInteger answered = new AtomicInteger();
    private HttpServer server;

    @AfterEach
    void stop() {
        release.countDown();
        if (server != null) {
            server.stop(0);
        }
    }

    @Test
    void theLastAnswerStandsWhenTheDeadlineCutsAReplyShort() throws Exception {
        start(1);
        try (RecallClient client = client()) {
            Lookup<RecallResult> none = client.recall("user-1", Duration.ofSeconds(2));
            assertThat(none.outcome()).isEqualTo(Lookup.Outcome.DEADLINE_PASSED);
            assertThat(answered.get()).as("overview requests answered").isEqualTo(1);
            // REST said "no such job" and then did not answer before the deadline: that says nothing new.
            assertThat(none.problem()).startsWith("no RUNNING job named 'index-job'");
        }
    }

    @Test
    void aRestApiThatNeverAnswersIsReportedAsUnreachable() throws Exception {
        start(0);
        try (RecallClient client = client()) {
            Lookup<RecallResult> none = client.recall("user-1", Duration.ofSeconds(2));
            assertThat(none.outcome()).isEqualTo(Lookup.Outcome.DEADLINE_PASSED);
            assertThat(none.problem()).contains("unreachable").contains("timed out");
        }
    }

    /** Answers the first {@code answers} overview requests with no jobs, then holds every request until the test ends. */
    private void start(int answers) throws IOException {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.setExecutor(Executors.newCachedThreadPool());
        server.createContext("/jobs/overview", exchange -> {
            if (answered.get() >= answers) {
                hold();
            }
            answered.incrementAndGet();
            reply(exchange, "{\"jobs\":[]}");
        });
        server.start();
    }

    private void hold() {
        try {
            release.await(1, TimeUnit.MINUTES);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void reply(HttpExchange exchange, String body) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().add("Content-Type", "application/json");
        exchange.sendResponseHeaders(200, bytes.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(bytes);
        }
    }

    private RecallClient client() throws IOException {
        return RecallClient.builder().rest("http://127.0.0.1:" + server.getAddress().getPort()).proxy("127.0.0.1", 1).build();
    }
}
