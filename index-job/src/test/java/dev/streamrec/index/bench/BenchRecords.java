package dev.streamrec.index.bench;

import java.util.ArrayList;
import java.util.List;

import dev.streamrec.avro.ItemEmbedding;
import dev.streamrec.avro.ItemStatus;
import dev.streamrec.avro.Trigger;
import dev.streamrec.avro.UserFeatures;
import dev.streamrec.avro.UserVector;

/** The records the benchmark feeds the index-job: items, and users' features as feature-job would publish them. */
final class BenchRecords {
    private BenchRecords() {}

    static List<Float> list(float[] v) {
        List<Float> l = new ArrayList<>(v.length);
        for (float f : v) {
            l.add(f);
        }
        return l;
    }

    static ItemEmbedding item(String id, String version, float[] vector) {
        return new ItemEmbedding(id, version, list(vector), "c", List.of(), ItemStatus.ACTIVE, System.currentTimeMillis());
    }

    static UserFeatures features(String user, String version, float[] vector, List<Trigger> triggers, long lastEventTime) {
        return UserFeatures.newBuilder()
                .setUserId(user).setUpdateSeq(1).setLastEventTime(lastEventTime).setUpdatedAt(System.currentTimeMillis())
                .setTriggers(triggers)
                .setVectors(List.of(new UserVector(version, list(vector), 1.0, lastEventTime)))
                .build();
    }
}
