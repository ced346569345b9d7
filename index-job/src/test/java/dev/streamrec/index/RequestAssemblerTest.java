package dev.streamrec.index;

import static dev.streamrec.index.IndexFixtures.T0;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;

import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.streaming.api.operators.co.KeyedCoProcessOperator;
import org.apache.flink.streaming.util.KeyedTwoInputStreamOperatorTestHarness;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import dev.streamrec.avro.IndexCommand;
import dev.streamrec.avro.RecallRequest;
import dev.streamrec.avro.TriggerVector;

class RequestAssemblerTest {
    private KeyedTwoInputStreamOperatorTestHarness<String, RecallRequest, TriggerVector, IndexCommand> h;

    @BeforeEach
    void setUp() throws Exception {
        h = new KeyedTwoInputStreamOperatorTestHarness<>(new KeyedCoProcessOperator<>(new RequestAssembler(3)),
                RecallRequest::getUserId, TriggerVector::getUserId, Types.STRING);
        h.open();
    }

    @AfterEach
    void tearDown() throws Exception {
        h.close();
    }

    private static RecallRequest request(long id, String... seeds) {
        return RecallRequest.newBuilder()
                .setUserId("u").setRequestId(id).setModelVersion("v1").setUserVector(AvroVectors.toBytes(new float[] {1, 0}))
                .setTriggerItems(List.of(seeds)).setExcludedItems(List.of(seeds))
                .setSourceEventTime(T0).setRequestedAt(T0).build();
    }

    private static TriggerVector vector(long id, String item, float... v) {
        return new TriggerVector("u", id, item, "v1", v.length == 0 ? AvroVectors.EMPTY : AvroVectors.toBytes(v));
    }

    @Test
    void fansOutToEveryShardOnceAllSeedVectorsAreKnownWhicheverComesFirst() throws Exception {
        h.processElement2(vector(1, "a", 1, 0), 0);
        RecallRequest request = request(1, "a", "b", "c");
        request.setSeenItems(List.of("seen-1", "seen-2"));
        h.processElement1(request, 0);
        h.processElement2(vector(1, "b"), 0); // b has no vector (deleted): not a seed, but answered
        assertThat(h.extractOutputValues()).isEmpty();
        h.processElement2(vector(1, "c", 0, 1), 0);
        List<IndexCommand> out = h.extractOutputValues();
        assertThat(out).extracting(c -> c.getQuery().getShard()).containsExactly(0, 1, 2);
        assertThat(out.get(0).getQuery().getTriggerVectors()).containsOnlyKeys("a", "c");
        assertThat(AvroVectors.fromBytes(out.get(2).getQuery().getTriggerVectors().get("c"))).containsExactly(0f, 1f);
        assertThat(out).as("every shard's query excludes the seen items")
                .allSatisfy(c -> assertThat(c.getQuery().getSeenItems()).containsExactly("seen-1", "seen-2"));
    }

    @Test
    void aFollowUpRequestWaitsForItsTurn() throws Exception {
        h.setProcessingTime(T0);
        RecallRequest followUp = request(7, "a");
        followUp.setNotBefore(T0 + 200);
        h.processElement1(followUp, 0);
        h.processElement2(vector(7, "a", 1, 0), 0);
        h.setProcessingTime(T0 + 199);
        assertThat(h.extractOutputValues()).isEmpty();
        h.setProcessingTime(T0 + 200);
        assertThat(h.extractOutputValues()).hasSize(3);
    }

    @Test
    void aRequestWithoutSeedsGoesOutAtOnce() throws Exception {
        h.processElement1(request(5), 0);
        assertThat(h.extractOutputValues()).hasSize(3);
    }

    @Test
    void aNewerRequestSupersedesAWaitingOne() throws Exception {
        h.processElement1(request(1, "a"), 0);
        h.processElement1(request(2, "b"), 0);
        h.processElement2(vector(1, "a", 1, 0), 0); // late, for the superseded request
        assertThat(h.extractOutputValues()).isEmpty();
        h.processElement2(vector(2, "b", 1, 0), 0);
        assertThat(h.extractOutputValues()).extracting(c -> c.getQuery().getRequestId()).containsOnly(2L).hasSize(3);
        h.processElement1(request(1, "a"), 0); // an older request arriving late is dropped
        assertThat(h.extractOutputValues()).hasSize(3);
    }
}
