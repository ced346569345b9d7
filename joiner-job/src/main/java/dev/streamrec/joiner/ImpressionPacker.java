package dev.streamrec.joiner;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;

import org.apache.flink.api.common.functions.MapFunction;

import dev.streamrec.avro.Impression;
import dev.streamrec.avro.PackedImpression;
import dev.streamrec.schemas.AvroSingleObjectSerde;

/**
 * Packs an impression for the join: the fields the join decides on stay decoded, the rest (the feature snapshot
 * above all) travels and is stored as Avro's single-object bytes, unpacked only for an example emitted. Measured: the
 * snapshot's map was decoded and encoded at every state read and write, the largest part of the join's CPU.
 */
final class ImpressionPacker implements MapFunction<Impression, PackedImpression> {
    private static final long serialVersionUID = 1L;
    private static final AvroSingleObjectSerde<Impression> SERDE = AvroSingleObjectSerde.of(Impression.class);

    @Override
    public PackedImpression map(Impression impression) {
        return pack(impression);
    }

    /** The packed impression; {@code impression} is left as it was. */
    static PackedImpression pack(Impression impression) {
        String userId = impression.getUserId();
        String itemId = impression.getItemId();
        // Packed without the ids: the join key holds them. Cleared in place and put back, so no copy of the snapshot.
        impression.setUserId("");
        impression.setItemId("");
        byte[] packed;
        try {
            packed = SERDE.encode(impression);
        } finally {
            impression.setUserId(userId);
            impression.setItemId(itemId);
        }
        return new PackedImpression(userId, itemId, KeyJoin.hash(impression.getImpressionId()),
                KeyJoin.hash(impression.getRequestId()), impression.getEventTime(), ByteBuffer.wrap(packed));
    }

    /** The impression back, with its ids. */
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
