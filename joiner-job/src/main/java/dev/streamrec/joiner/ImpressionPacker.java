package dev.streamrec.joiner;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;

import dev.streamrec.avro.Impression;
import dev.streamrec.avro.PackedImpression;
import dev.streamrec.schemas.AvroSingleObjectSerde;

/**
 * Packs an impression for the join: the fields the join decides on stay decoded, the whole record travels and is
 * stored as Avro's single-object bytes, unpacked only for an example emitted. Measured: the snapshot's map was
 * decoded and encoded at every state read and write, the largest part of the join's CPU; and encoding the decoded
 * impression again took a quarter of the source thread's, so the job keeps the bytes it read.
 */
final class ImpressionPacker {
    private static final AvroSingleObjectSerde<Impression> SERDE = AvroSingleObjectSerde.of(Impression.class);

    private ImpressionPacker() {}

    /**
     * The packed impression, around {@code encoded}: the impression's single-object bytes as read (any schema
     * version {@link AvroSingleObjectSerde} resolves, so a packed impression stored in state decodes after an upgrade).
     */
    static PackedImpression pack(Impression impression, byte[] encoded) {
        return new PackedImpression(impression.getUserId(), impression.getItemId(), KeyJoin.hash(impression.getImpressionId()),
                KeyJoin.hash(impression.getRequestId()), impression.getEventTime(), ByteBuffer.wrap(encoded));
    }

    /** The packed impression of a record not read from bytes (tests, tools): encoded here. */
    static PackedImpression pack(Impression impression) {
        return pack(impression, SERDE.encode(impression));
    }

    /** The impression back, with its ids (the key's: bytes packed by earlier builds left them empty). */
    static Impression unpack(ByteBuffer packed, String userId, String itemId) {
        byte[] bytes = new byte[packed.remaining()];
        packed.duplicate().get(bytes);
        try {
            Impression impression = SERDE.decode(bytes);
            impression.setUserId(userId);
            impression.setItemId(itemId);
            return impression;
        } catch (IOException e) {
            throw new UncheckedIOException("a packed impression that does not decode", e);
        }
    }
}
