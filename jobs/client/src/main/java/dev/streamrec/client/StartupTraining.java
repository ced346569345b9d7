package dev.streamrec.client;

import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.List;

import org.apache.flink.api.common.ExecutionConfig;
import org.apache.flink.api.common.JobID;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.core.memory.DataOutputSerializer;

import dev.streamrec.avro.Candidate;
import dev.streamrec.avro.RecallResult;

/**
 * The run bin/query makes once after a build to write its class-data-sharing archive ({@code -XX:ArchiveClassesAtExit}):
 * it loads the classes of a lookup without a cluster, by going through the command's own code against a port
 * nothing listens on, then decoding and printing a sample answer. Calls of bin/query then map those classes from the
 * archive instead of loading and verifying them from the jars (most of a lookup's start-up time).
 */
public final class StartupTraining {
    private static final String SAMPLE_OVERVIEW = "{\"jobs\":[{\"jid\":\"" + new JobID() + "\",\"name\":\"index-job\","
            + "\"state\":\"RUNNING\",\"start-time\":1}]}";

    private StartupTraining() {}

    public static void main(String[] args) throws Exception {
        PrintStream discard = new PrintStream(OutputStream.nullOutputStream());
        int port = closedPort();
        String closed = "127.0.0.1:" + port;
        // The command up to its REST call, which is refused.
        for (String command : List.of("recall", "features")) {
            QueryCli.run(new String[] {command, "--user", "u0", "--rest", "http://" + closed, "--proxy", closed}, discard, discard);
        }
        // A queryable-state request up to its connection, refused too.
        ValueStateDescriptor<RecallResult> recall = QueryTarget.recall().descriptor();
        try (QueryableStateReader reader = new QueryableStateReader("127.0.0.1", port)) {
            for (ValueStateDescriptor<?> d : List.of(recall, QueryTarget.userFeatures().descriptor())) {
                try {
                    reader.lookupOnce(new JobID(), "u0", d, Duration.ofSeconds(2));
                } catch (Exception expected) {
                    // nothing listens: the classes of the request are loaded all the same
                }
            }
        }
        // An answer: the jobs overview, a recall through the state's serializer, its printout.
        FlinkRestClient.runningJob(FlinkRestClient.parseOverview(SAMPLE_OVERVIEW), "index-job");
        recall.initializeSerializerUnlessSet(new ExecutionConfig());
        TypeSerializer<RecallResult> serializer = recall.getSerializer();
        RecallResult sample = RecallResult.newBuilder().setUserId("u0").setModelVersion("v1")
                .setCandidates(List.of(new Candidate("i1", 0.5, "u2i"), new Candidate("i2", 0.4, "i2i")))
                .setComputedAt(1).setSourceEventTime(1).build();
        DataOutputSerializer out = new DataOutputSerializer(256);
        serializer.serialize(sample, out);
        RecallResult decoded = serializer.deserialize(new DataInputDeserializer(out.getCopyOfBuffer()));
        ServingText.recall(decoded, 0, System.currentTimeMillis()).forEach(discard::println);
    }

    /** A loopback port nothing listens on (just released). */
    private static int closedPort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        }
    }
}
