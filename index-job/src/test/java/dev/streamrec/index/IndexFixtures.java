package dev.streamrec.index;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import dev.streamrec.avro.ActionType;
import dev.streamrec.avro.IndexCommand;
import dev.streamrec.avro.ItemEmbedding;
import dev.streamrec.avro.ItemStatus;
import dev.streamrec.avro.ModelPhase;
import dev.streamrec.avro.ModelVersion;
import dev.streamrec.avro.RecallRequest;
import dev.streamrec.avro.Trigger;
import dev.streamrec.avro.UserFeatures;
import dev.streamrec.avro.UserVector;
import dev.streamrec.index.ann.VectorMath;

/** Records for the index-job's tests. */
final class IndexFixtures {
    static final long T0 = 1_700_000_000_000L;

    private IndexFixtures() {}

    static List<Float> list(float... v) {
        List<Float> l = new ArrayList<>(v.length);
        for (float f : v) {
            l.add(f);
        }
        return l;
    }

    static ItemEmbedding item(String id, String version, float[] vector, long eventTime) {
        return new ItemEmbedding(id, version, list(vector), "c1", List.of("t1"), ItemStatus.ACTIVE, eventTime);
    }

    static ItemEmbedding deleted(String id, String version, long eventTime) {
        return new ItemEmbedding(id, version, List.of(), null, List.of(), ItemStatus.DELETED, eventTime);
    }

    static IndexCommand command(ItemEmbedding item) {
        return new IndexCommand(item, null, null);
    }

    static ModelVersion phase(String version, ModelPhase phase, long eventTime) {
        return new ModelVersion(version, phase, null, null, eventTime);
    }

    /** A request as the assembler fans it out: user vector and seed vectors given. */
    static RecallRequest query(String user, long requestId, String version, float[] userVector, Map<String, float[]> seeds,
                               List<String> excluded, int shard) {
        Map<String, ByteBuffer> vectors = new HashMap<>();
        seeds.forEach((k, v) -> vectors.put(k, AvroVectors.toBytes(VectorMath.normalized(v))));
        return RecallRequest.newBuilder()
                .setUserId(user).setRequestId(requestId).setModelVersion(version)
                .setUserVector(userVector == null ? AvroVectors.EMPTY : AvroVectors.toBytes(userVector))
                .setTriggerItems(new ArrayList<>(seeds.keySet()))
                .setExcludedItems(excluded)
                .setTriggerVectors(vectors)
                .setShard(shard)
                .setSourceEventTime(T0)
                .setRequestedAt(T0)
                .build();
    }

    static UserFeatures features(String user, Map<String, float[]> vectors, List<Trigger> triggers, long lastEventTime) {
        List<UserVector> uv = new ArrayList<>();
        vectors.forEach((version, v) -> uv.add(new UserVector(version, list(v), 1.0, lastEventTime)));
        return UserFeatures.newBuilder()
                .setUserId(user).setUpdateSeq(1).setLastEventTime(lastEventTime).setUpdatedAt(lastEventTime)
                .setTriggers(triggers).setVectors(uv)
                .build();
    }

    static Trigger trigger(String item, double weight, long eventTime) {
        return new Trigger(item, weight >= 0 ? ActionType.CLICK : ActionType.DISLIKE, weight, eventTime);
    }
}
