package dev.streamrec.feature;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import dev.streamrec.avro.ActionType;
import dev.streamrec.avro.EnrichedAction;
import dev.streamrec.avro.ItemEmbedding;
import dev.streamrec.avro.ItemStatus;
import dev.streamrec.avro.UserAction;

/** Small record builders for the tests. */
final class Fixtures {
    static final long T0 = 1_700_000_000_000L;
    private static int seq;

    private Fixtures() {}

    static UserAction action(String user, String item, ActionType type, long eventTime) {
        return action(user, item, type, 1.0, eventTime);
    }

    static UserAction action(String user, String item, ActionType type, double value, long eventTime) {
        return UserAction.newBuilder().setEventId("e" + (++seq)).setUserId(user).setItemId(item).setAction(type)
                .setValue(value).setEventTime(eventTime).build();
    }

    static List<Float> vector(long seed, int dimension) {
        Random r = new Random(seed);
        List<Float> v = new ArrayList<>(dimension);
        for (int i = 0; i < dimension; i++) {
            v.add((float) r.nextGaussian());
        }
        return v;
    }

    static ItemEmbedding item(String item, String version, List<Float> vector, String category, List<String> tags, long eventTime) {
        return ItemEmbedding.newBuilder().setItemId(item).setModelVersion(version).setVector(vector).setCategory(category)
                .setTags(tags).setStatus(ItemStatus.ACTIVE).setEventTime(eventTime).build();
    }

    static ItemEmbedding deleted(String item, String version, long eventTime) {
        return ItemEmbedding.newBuilder().setItemId(item).setModelVersion(version).setVector(new ArrayList<>())
                .setStatus(ItemStatus.DELETED).setEventTime(eventTime).build();
    }

    static EnrichedAction enriched(UserAction a, String category, List<String> tags, Map<String, List<Float>> vectors) {
        return new EnrichedAction(a, category, tags, new HashMap<>(vectors));
    }

    static ReferenceFeatures.Applied applied(EnrichedAction e) {
        UserAction a = e.getAction();
        return new ReferenceFeatures.Applied(a.getEventId(), a.getItemId(), a.getAction(), a.getValue(), a.getEventTime(),
                e.getCategory(), e.getTags(), e.getVectors());
    }
}
