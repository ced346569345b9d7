package dev.streamrec.schemas;

import java.io.IOException;

import org.apache.avro.specific.SpecificRecordBase;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.serialization.Deserializer;

/** Kafka value deserializer for plain clients (tests, tools). Jobs decode in a function instead, to dead-letter bad bytes. */
public final class AvroKafkaDeserializer<T extends SpecificRecordBase> implements Deserializer<T> {
    private final AvroSingleObjectSerde<T> serde;

    public AvroKafkaDeserializer(Class<T> type) {
        this.serde = AvroSingleObjectSerde.of(type);
    }

    @Override
    public T deserialize(String topic, byte[] data) {
        if (data == null) {
            return null;
        }
        try {
            return serde.decode(data);
        } catch (IOException | RuntimeException e) {
            throw new SerializationException("cannot decode " + serde.type().getSimpleName() + " from " + topic, e);
        }
    }
}
