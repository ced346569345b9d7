package dev.streamrec.schemas;

import org.apache.avro.specific.SpecificRecordBase;
import org.apache.kafka.common.serialization.Serializer;

/** Kafka value serializer: Avro single-object encoding. */
public final class AvroKafkaSerializer<T extends SpecificRecordBase> implements Serializer<T> {
    private final AvroSingleObjectSerde<T> serde;

    public AvroKafkaSerializer(Class<T> type) {
        this.serde = AvroSingleObjectSerde.of(type);
    }

    @Override
    public byte[] serialize(String topic, T data) {
        return data == null ? null : serde.encode(data);
    }
}
