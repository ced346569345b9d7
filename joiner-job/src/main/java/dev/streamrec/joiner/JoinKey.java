package dev.streamrec.joiner;

import dev.streamrec.avro.PackedImpression;
import dev.streamrec.avro.UserAction;

/**
 * The join key of a (user, item) pair as one string, {@code <length of userId>:<userId><itemId>}: unambiguous for any
 * ids (no separator can occur in them) and a plain String key, so no tuple serializer runs per record.
 */
final class JoinKey {
    private JoinKey() {}

    static String of(String userId, String itemId) {
        return userId.length() + ":" + userId + itemId;
    }

    static String of(PackedImpression impression) {
        return of(impression.getUserId(), impression.getItemId());
    }

    static String of(UserAction action) {
        return of(action.getUserId(), action.getItemId());
    }

    static String userId(String key) {
        int colon = key.indexOf(':');
        int length = Integer.parseInt(key, 0, colon, 10);
        return key.substring(colon + 1, colon + 1 + length);
    }

    static String itemId(String key) {
        int colon = key.indexOf(':');
        int length = Integer.parseInt(key, 0, colon, 10);
        return key.substring(colon + 1 + length);
    }
}
