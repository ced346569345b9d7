package dev.streamrec.jobs.io;

/**
 * A Kafka record exactly as read: decoding happens in a function afterwards, so bytes that cannot be decoded
 * reach the dead-letter topic with their coordinates instead of failing the source. A Flink POJO (no Kryo).
 */
public class RawRecord implements java.io.Serializable {
    private static final long serialVersionUID = 1L;

    public String topic;
    public int partition;
    public long offset;
    public long timestamp;
    public byte[] key;
    public byte[] value;

    public RawRecord() {}

    public RawRecord(String topic, int partition, long offset, long timestamp, byte[] key, byte[] value) {
        this.topic = topic;
        this.partition = partition;
        this.offset = offset;
        this.timestamp = timestamp;
        this.key = key;
        this.value = value;
    }
}
