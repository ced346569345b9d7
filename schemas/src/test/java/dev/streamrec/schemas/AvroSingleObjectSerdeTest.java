package dev.streamrec.schemas;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;

import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.message.BinaryMessageEncoder;
import org.apache.avro.message.SchemaStore;
import org.apache.avro.specific.SpecificData;
import org.junit.jupiter.api.Test;

import dev.streamrec.avro.ActionType;
import dev.streamrec.avro.ItemEmbedding;
import dev.streamrec.avro.UserAction;

class AvroSingleObjectSerdeTest {
    private final AvroSingleObjectSerde<UserAction> serde = AvroSingleObjectSerde.of(UserAction.class);

    private static UserAction action() {
        return UserAction.newBuilder().setEventId("e1").setUserId("u1").setItemId("i1")
                .setAction(ActionType.CLICK).setValue(1.0).setEventTime(1000L).build();
    }

    @Test
    void roundTripsAndCarriesTheFingerprint() throws Exception {
        byte[] bytes = serde.encode(action());
        assertThat(bytes[0]).isEqualTo((byte) 0xC3);
        assertThat(bytes[1]).isEqualTo((byte) 0x01);
        assertThat(serde.decode(bytes)).isEqualTo(action());
    }

    @Test
    void writesTheSameBytesAsAvrosMessageEncoder() throws Exception {
        UserAction a = action();
        a.setRequestId("r1");
        ByteBuffer expected = new BinaryMessageEncoder<UserAction>(new SpecificData(), UserAction.getClassSchema()).encode(a);
        byte[] bytes = new byte[expected.remaining()];
        expected.get(bytes);
        assertThat(serde.encode(a)).isEqualTo(bytes);
        assertThat(serde.encode(action())).as("the per-thread buffer is reset between records").isEqualTo(serde.encode(action()));
    }

    @Test
    void rejectsBytesThatAreNotAMessage() {
        assertThatThrownBy(() -> serde.decode(new byte[] {1, 2, 3})).isInstanceOf(Exception.class);
        assertThatThrownBy(() -> serde.decode(null)).isInstanceOf(Exception.class);
    }

    @Test
    void readsAnOlderWriterSchemaAndAnUnknownEnumSymbolBecomesUnknown() throws Exception {
        // A future writer: one more enum symbol and one more field. Unknown to this reader's store, so it is rejected...
        String future = SpecificData.get().getSchema(UserAction.class).toString()
                .replace("\"RATE\",\"UNKNOWN\"", "\"RATE\",\"UNKNOWN\",\"BOOKMARK\"")
                .replaceFirst("\"fields\":\\[", "\"fields\":[{\"name\":\"extra\",\"type\":\"int\",\"default\":0},");
        Schema writer = new Schema.Parser().parse(future);
        GenericRecord rec = new GenericData.Record(writer);
        rec.put("extra", 7);
        rec.put("eventId", "e2");
        rec.put("userId", "u2");
        rec.put("itemId", "i2");
        rec.put("action", new GenericData.EnumSymbol(writer.getField("action").schema(), "BOOKMARK"));
        rec.put("value", 2.0);
        rec.put("eventTime", 5L);
        rec.put("requestId", null);
        ByteBuffer buf = new BinaryMessageEncoder<GenericRecord>(GenericData.get(), writer).encode(rec);
        byte[] bytes = new byte[buf.remaining()];
        buf.get(bytes);
        assertThatThrownBy(() -> serde.decode(bytes)).isInstanceOf(Exception.class);

        // ...and resolved once the writer schema is known, the new symbol mapping to the enum default.
        SchemaStore.Cache store = new SchemaStore.Cache();
        store.addSchema(writer);
        UserAction decoded = UserAction.createDecoder(store).decode(bytes);
        assertThat(decoded.getAction()).isEqualTo(ActionType.UNKNOWN);
        assertThat(decoded.getUserId()).isEqualTo("u2");
    }

    @Test
    void aValidRecordOfAnotherTypeIsNamedInTheError() {
        byte[] action = serde.encode(action());
        AvroSingleObjectSerde<ItemEmbedding> items = AvroSingleObjectSerde.of(ItemEmbedding.class);
        assertThatThrownBy(() -> items.decode(action))
                .hasMessageStartingWith("a UserAction record (fingerprint ")
                .hasMessageEndingWith("), expected ItemEmbedding");
    }

    @Test
    void anUnknownFingerprintIsSaidToBeUnknown() {
        byte[] bytes = serde.encode(action());
        for (int i = 2; i < 10; i++) {
            bytes[i] = (byte) 0x5A;
        }
        assertThatThrownBy(() -> serde.decode(bytes))
                .hasMessage("unknown schema fingerprint 5a5a5a5a5a5a5a5a, expected UserAction");
    }

    @Test
    void releasedVersionsAreKnownToTheDecoder() {
        assertThat(SchemaHistory.releasedVersions("UserAction")).isNotEmpty();
    }
}
