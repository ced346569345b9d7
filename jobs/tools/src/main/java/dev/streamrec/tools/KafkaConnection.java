package dev.streamrec.tools;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;

import org.apache.kafka.clients.CommonClientConfigs;

import dev.streamrec.jobs.config.CommonOptions;
import dev.streamrec.jobs.config.JobConfig;
import dev.streamrec.schemas.Topic;
import picocli.CommandLine.Option;

/**
 * The Kafka options every tool takes, resolved as the jobs resolve theirs ({@link JobConfig}): bootstrap servers, the
 * topic prefix and client properties from {@code --kafka.config FILE} overridden by {@code --kafka.property}.
 */
public final class KafkaConnection {
    @Option(names = "--bootstrap", paramLabel = "HOST:PORT", defaultValue = "localhost:9092",
            description = "Kafka bootstrap servers (default: ${DEFAULT-VALUE}).")
    String bootstrap;

    @Option(names = "--topic.prefix", paramLabel = "PREFIX", defaultValue = "",
            description = "Prefix of every topic name, as given to the jobs (default: none).")
    String topicPrefix;

    @Option(names = "--kafka.config", paramLabel = "FILE",
            description = "Kafka client properties file (security.protocol, sasl.*, ssl.*), as the jobs' --kafka.config.")
    Path kafkaConfig;

    @Option(names = "--kafka.property", paramLabel = "NAME=VALUE",
            description = "One Kafka client property; overrides the file's. Repeatable.")
    Map<String, String> kafkaProperties = new LinkedHashMap<>();

    private JobConfig resolved;

    /** The connection as a job configuration: the same parsing, so a tool and the jobs read one file alike. */
    JobConfig config(String toolName) {
        if (resolved == null) {
            if (kafkaConfig != null && !Files.isReadable(kafkaConfig)) {
                throw UserError.usage("cannot read --kafka.config " + kafkaConfig);
            }
            List<String> args = new ArrayList<>(List.of("--" + CommonOptions.BOOTSTRAP_SERVERS.key(), bootstrap,
                    "--" + CommonOptions.TOPIC_PREFIX.key() + "=" + topicPrefix));
            if (kafkaConfig != null) {
                args.addAll(List.of("--" + CommonOptions.KAFKA_CONFIG.key(), kafkaConfig.toString()));
            }
            kafkaProperties.forEach((k, v) -> args.add("--" + JobConfig.KAFKA_PROPERTY_PREFIX + k + "=" + v));
            resolved = JobConfig.parse(toolName, List.of(), args.toArray(String[]::new));
        }
        return resolved;
    }

    /** Client properties: the user's, with the bootstrap servers of {@code --bootstrap} (as the jobs' sources take them). */
    Properties clientProperties(String toolName) {
        JobConfig config = config(toolName);
        Properties p = config.kafkaProperties();
        p.setProperty(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, config.get(CommonOptions.BOOTSTRAP_SERVERS));
        return p;
    }

    String topic(String toolName, Topic topic) {
        return config(toolName).topic(topic);
    }

    String prefix(String toolName) {
        return config(toolName).get(CommonOptions.TOPIC_PREFIX);
    }
}
