package dev.streamrec.jobs.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.Properties;

import org.apache.flink.connector.base.DeliveryGuarantee;
import org.apache.flink.connector.kafka.source.KafkaSource;
import org.junit.jupiter.api.Test;

import dev.streamrec.jobs.config.JobConfig;
import dev.streamrec.schemas.Topic;

class KafkaIOTest {
    static JobConfig config(String... args) {
        return JobConfig.parse("test-job", List.of(), args);
    }

    @Test
    void theSourceTakesTheUsersPropertiesButKeepsReadCommittedAndItsGroup() throws Exception {
        KafkaSource<RawRecord> source = KafkaIO.rawSource(config("--topic.prefix", "p.", "--bootstrap.servers", "b:1",
                "--kafka.properties.security.protocol", "SASL_PLAINTEXT",
                "--kafka.properties.isolation.level", "read_uncommitted",
                "--kafka.properties.group.id", "other"), Topic.USER_ACTIONS);
        Properties props = sourceProperties(source);
        assertThat(props).containsEntry("security.protocol", "SASL_PLAINTEXT")
                .containsEntry("bootstrap.servers", "b:1")
                .containsEntry("isolation.level", "read_committed")
                .containsEntry("group.id", "p.test-job");
    }

    @Test
    void producerDefaultsAreOverridable() {
        assertThat(KafkaIO.producerProperties(config())).containsEntry("linger.ms", "5")
                .containsEntry("compression.type", "lz4").containsEntry("transaction.timeout.ms", "900000");
        assertThat(KafkaIO.producerProperties(config("--sink.linger.ms", "20", "--kafka.properties.compression.type", "zstd",
                "--kafka.properties.sasl.mechanism", "PLAIN")))
                .containsEntry("linger.ms", "20").containsEntry("compression.type", "zstd").containsEntry("sasl.mechanism", "PLAIN");
    }

    @Test
    void modeOptionsAreCheckedByName() {
        assertThat(KafkaIO.deliveryGuarantee(config())).isEqualTo(DeliveryGuarantee.EXACTLY_ONCE);
        assertThat(KafkaIO.deliveryGuarantee(config("--sink.delivery", "at-least-once"))).isEqualTo(DeliveryGuarantee.AT_LEAST_ONCE);
        assertThatThrownBy(() -> KafkaIO.deliveryGuarantee(config("--sink.delivery", "once"))).hasMessageContaining("sink.delivery");
        assertThatThrownBy(() -> KafkaIO.startingOffsets(config("--source.starting-offsets", "start")))
                .hasMessageContaining("source.starting-offsets");
        assertThatThrownBy(() -> KafkaIO.transactionNaming(config("--sink.transaction-naming", "x")))
                .hasMessageContaining("sink.transaction-naming");
    }

    /** KafkaSource keeps its consumer properties in a private field; read it to see what the consumers get. */
    private static Properties sourceProperties(KafkaSource<?> source) throws Exception {
        var field = KafkaSource.class.getDeclaredField("props");
        field.setAccessible(true);
        return (Properties) field.get(source);
    }
}
