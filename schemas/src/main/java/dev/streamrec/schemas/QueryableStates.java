package dev.streamrec.schemas;

import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.TypeInformation;

import dev.streamrec.avro.RecallResult;
import dev.streamrec.avro.SeenSet;
import dev.streamrec.avro.UserFeatures;

/**
 * The queryable states the jobs publish, keyed by userId. Jobs and clients build their descriptors here so the
 * name and serializer always agree.
 */
public final class QueryableStates {
    public static final String USER_FEATURES = "user-features";
    public static final String RECALL = "recall";
    public static final String FRESH_RECALL = "fresh-recall";
    public static final String SEEN = "seen";

    private QueryableStates() {}

    /** Descriptor of the queryable {@code user-features} state. No TTL: queryable state does not support it. */
    public static ValueStateDescriptor<UserFeatures> userFeatures() {
        ValueStateDescriptor<UserFeatures> d = new ValueStateDescriptor<>("user-features", TypeInformation.of(UserFeatures.class));
        d.setQueryable(USER_FEATURES);
        return d;
    }

    public static ValueStateDescriptor<RecallResult> recall(String name) {
        ValueStateDescriptor<RecallResult> d = new ValueStateDescriptor<>(name, TypeInformation.of(RecallResult.class));
        d.setQueryable(name);
        return d;
    }

    /** Descriptor of dedup-job's queryable {@code seen} state: a user's seen set (read it with {@code dev.streamrec.seen.SeenSets}). */
    public static ValueStateDescriptor<SeenSet> seen() {
        // Avro's varint encoding: a seen set is mostly small numbers around its Bloom bits (CompactAvroSerializer).
        ValueStateDescriptor<SeenSet> d = new ValueStateDescriptor<>("seen", new CompactAvroSerializer<>(SeenSet.class));
        d.setQueryable(SEEN);
        return d;
    }
}
