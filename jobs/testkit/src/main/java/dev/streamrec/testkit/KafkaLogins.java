package dev.streamrec.testkit;

import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ConcurrentHashMap;

/**
 * How the test kit's own Kafka clients (producers, consumers, admin) log in to a broker, by bootstrap address: an
 * {@link EmbeddedKafkaBroker} started with a SASL listener registers its client settings here, so every test helper
 * that takes a bootstrap address works against it unchanged. Jobs never read this: they get their Kafka properties
 * from their options ({@code --kafka.properties.*}), as in production.
 */
public final class KafkaLogins {
    private static final Map<String, Map<String, String>> BY_BOOTSTRAP = new ConcurrentHashMap<>();

    private KafkaLogins() {}

    static void register(String bootstrap, Map<String, String> clientProperties) {
        BY_BOOTSTRAP.put(bootstrap, Map.copyOf(clientProperties));
    }

    static void unregister(String bootstrap) {
        BY_BOOTSTRAP.remove(bootstrap);
    }

    /** The client properties a test client of {@code bootstrap} needs (none for a plaintext broker). */
    public static Map<String, String> of(String bootstrap) {
        return BY_BOOTSTRAP.getOrDefault(bootstrap, Map.of());
    }

    /** Adds {@link #of} to {@code properties}; returns them. */
    public static Properties applyTo(String bootstrap, Properties properties) {
        properties.putAll(of(bootstrap));
        return properties;
    }
}
