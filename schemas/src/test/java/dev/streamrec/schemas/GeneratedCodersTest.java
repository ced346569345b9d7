package dev.streamrec.schemas;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericDatumWriter;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.DecoderFactory;
import org.apache.avro.io.EncoderFactory;
import org.apache.avro.specific.SpecificData;
import org.apache.avro.specific.SpecificDatumReader;
import org.apache.avro.specific.SpecificDatumWriter;
import org.apache.avro.specific.SpecificRecordBase;
import org.apache.avro.util.RandomData;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@link Records#useGeneratedCoders()} switches every record to the code Avro generated into its class. That code
 * must write the same bytes and read the same records as Avro's schema-walking path, also when it resolves data
 * written with an older schema.
 */
class GeneratedCodersTest {
    static Stream<Class<? extends SpecificRecordBase>> records() {
        return Records.ALL.stream();
    }

    private static SpecificData data(boolean generatedCoders) {
        SpecificData d = new SpecificData();
        d.setCustomCoders(generatedCoders);
        return d;
    }

    private static byte[] write(GenericDatumWriter<Object> writer, Object datum) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        BinaryEncoder encoder = EncoderFactory.get().binaryEncoder(out, null);
        writer.write(datum, encoder);
        encoder.flush();
        return out.toByteArray();
    }

    private static Object read(Schema writer, Schema reader, SpecificData data, byte[] bytes) throws IOException {
        return new SpecificDatumReader<>(writer, reader, data).read(null, DecoderFactory.get().binaryDecoder(bytes, null));
    }

    @ParameterizedTest
    @MethodSource("records")
    void writeAndReadTheSameAsTheSchemaWalkingPath(Class<? extends SpecificRecordBase> type) throws IOException {
        Schema schema = SpecificData.get().getSchema(type);
        for (Object random : new RandomData(schema, 40, 42L)) {
            byte[] bytes = write(new GenericDatumWriter<>(schema, GenericData.get()), random);
            Object walked = read(schema, schema, data(false), bytes);
            Object generated = read(schema, schema, data(true), bytes);
            assertThat(generated).isInstanceOf(type).isEqualTo(walked);
            // Written back by the generated code, read by the schema-walking path: the same record. (Not compared as
            // bytes: a map's entries come back in HashMap order, which depends on the map's initial capacity.)
            byte[] rewritten = write(new SpecificDatumWriter<>(schema, data(true)), generated);
            assertThat(read(schema, schema, data(false), rewritten)).isEqualTo(walked);
        }
    }

    /** An older writer: the current schema without its fields that have defaults (as if they were added later). */
    @ParameterizedTest
    @MethodSource("records")
    void resolveAnOlderWriterSchemaLikeTheSchemaWalkingPath(Class<? extends SpecificRecordBase> type) throws IOException {
        Schema schema = SpecificData.get().getSchema(type);
        List<Schema.Field> kept = new ArrayList<>();
        for (Schema.Field f : schema.getFields()) {
            if (!f.hasDefaultValue()) {
                kept.add(new Schema.Field(f, f.schema()));
            }
        }
        Schema older = Schema.createRecord(schema.getName(), schema.getDoc(), schema.getNamespace(), false, kept);
        for (Object random : new RandomData(older, 40, 7L)) {
            byte[] bytes = write(new GenericDatumWriter<>(older, GenericData.get()), random);
            assertThat(read(older, schema, data(true), bytes)).isEqualTo(read(older, schema, data(false), bytes));
        }
    }
}
