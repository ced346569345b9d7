package dev.streamrec.jobs.config;

import java.io.IOException;
import java.io.Reader;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;

import dev.streamrec.schemas.Topic;

/**
 * A job's resolved configuration: defaults, overridden by a file ({@code --config FILE}, .properties or flat YAML
 * {@code key: value}), overridden by command-line {@code --key value} / {@code --key=value}. Unknown keys are an
 * error, so a typo never silently falls back to a default.
 *
 * <p>Kafka client properties pass through untouched, for every Kafka client the job creates (sources, sinks, dead
 * letters; e.g. SASL or TLS settings): from a properties file ({@code --kafka.config FILE}), overridden by
 * {@code --kafka.properties.<name> value} options (on the command line or in the config file).
 */
public final class JobConfig implements Serializable {
    private static final long serialVersionUID = 1L;

    private final String jobName;
    private final Map<String, Option> options;
    private final Map<String, String> values;
    private final Map<String, String> kafkaProperties;

    /** Prefix of options that are Kafka client properties ({@code kafka.properties.security.protocol SASL_SSL}). */
    public static final String KAFKA_PROPERTY_PREFIX = "kafka.properties.";

    private JobConfig(String jobName, Map<String, Option> options, Map<String, String> values,
                      Map<String, String> kafkaProperties) {
        this.jobName = jobName;
        this.options = options;
        this.values = values;
        this.kafkaProperties = kafkaProperties;
    }

    /** Thrown for {@code --help}; its message is the usage text. */
    public static final class HelpRequested extends RuntimeException {
        HelpRequested(String usage) {
            super(usage);
        }
    }

    public static JobConfig parse(String jobName, List<Option> jobOptions, String... args) {
        Map<String, Option> options = new LinkedHashMap<>();
        for (Option o : CommonOptions.ALL) {
            options.put(o.key(), o);
        }
        for (Option o : jobOptions) {
            options.put(o.key(), o);
        }
        Map<String, String> values = new LinkedHashMap<>();
        options.values().forEach(o -> values.put(o.key(), o.defaultValue()));

        Map<String, String> cli = new LinkedHashMap<>();
        for (Arg arg : split(args)) {
            if (arg.isHelp()) {
                throw new HelpRequested(usage(jobName, options));
            }
            if (arg.key() == null) {
                throw new IllegalArgumentException("expected --key value, got '" + arg.value() + "'\n" + usage(jobName, options));
            }
            cli.put(arg.key(), arg.value() == null ? "true" : arg.value());
        }
        String file = cli.remove("config");
        Map<String, String> kafka = new LinkedHashMap<>();
        if (file != null) {
            readFile(Path.of(file)).forEach((k, v) -> put(options, values, kafka, k, v, "config file " + file));
        }
        cli.forEach((k, v) -> put(options, values, kafka, k, v, "command line"));
        Map<String, String> kafkaProperties = new LinkedHashMap<>();
        String kafkaFile = values.get(CommonOptions.KAFKA_CONFIG.key());
        if (kafkaFile != null && !kafkaFile.isBlank()) {
            // Read here, where the job is built: the properties travel with the job graph, the file need not exist on
            // the cluster.
            kafkaProperties.putAll(readProperties(Path.of(kafkaFile)));
        }
        kafkaProperties.putAll(kafka);
        return new JobConfig(jobName, options, values, kafkaProperties);
    }

    /**
     * One argument of a command line: {@code --key value} or {@code --key=value} ({@code value} null when no value
     * follows: the next argument is an option, or there is none), or a bare word ({@code key} null).
     */
    public record Arg(String key, String value) {
        public boolean isHelp() {
            return "help".equals(key) || key == null && "-h".equals(value);
        }
    }

    /** Splits a command line into its arguments, the way {@link #parse} reads them (for launchers that check first). */
    public static List<Arg> split(String... args) {
        List<Arg> out = new ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            String arg = args[i];
            if (!arg.startsWith("--")) {
                out.add(new Arg(null, arg));
                continue;
            }
            String key = arg.substring(2);
            int eq = key.indexOf('=');
            if (eq >= 0) {
                out.add(new Arg(key.substring(0, eq), key.substring(eq + 1)));
            } else if (i + 1 < args.length && !args[i + 1].startsWith("--")) {
                out.add(new Arg(key, args[++i]));
            } else {
                out.add(new Arg(key, null));
            }
        }
        return out;
    }

    private static void put(Map<String, Option> options, Map<String, String> values, Map<String, String> kafka,
                            String key, String value, String where) {
        if (key.startsWith(KAFKA_PROPERTY_PREFIX) && key.length() > KAFKA_PROPERTY_PREFIX.length()) {
            kafka.put(key.substring(KAFKA_PROPERTY_PREFIX.length()), value);
            return;
        }
        if (!options.containsKey(key)) {
            throw new IllegalArgumentException("unknown option '" + key + "' (" + where + "); --help lists them");
        }
        values.put(key, value);
    }

    /** A config file's options as written (.properties, or flat YAML for .yaml/.yml), e.g. for a launcher to merge. */
    public static Map<String, String> readFile(Path path) {
        Map<String, String> result = new LinkedHashMap<>();
        String name = path.getFileName().toString();
        try {
            if (name.endsWith(".yaml") || name.endsWith(".yml")) {
                for (String line : Files.readAllLines(path)) {
                    String trimmed = line.strip();
                    if (trimmed.isEmpty() || trimmed.startsWith("#")) {
                        continue;
                    }
                    int colon = trimmed.indexOf(':');
                    if (colon < 0) {
                        throw new IllegalArgumentException("not a 'key: value' line in " + path + ": " + line);
                    }
                    result.put(trimmed.substring(0, colon).strip(), unquote(trimmed.substring(colon + 1).strip()));
                }
            } else {
                result.putAll(readProperties(path));
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read config " + path, e);
        }
        return result;
    }

    private static Map<String, String> readProperties(Path path) {
        Map<String, String> result = new LinkedHashMap<>();
        Properties p = new Properties();
        try (Reader r = Files.newBufferedReader(path)) {
            p.load(r);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + path, e);
        }
        p.stringPropertyNames().forEach(k -> result.put(k, p.getProperty(k).strip()));
        return result;
    }

    private static String unquote(String v) {
        if (v.length() >= 2 && (v.startsWith("\"") && v.endsWith("\"") || v.startsWith("'") && v.endsWith("'"))) {
            return v.substring(1, v.length() - 1);
        }
        return v;
    }

    public static String usage(String jobName, Map<String, Option> options) {
        StringBuilder sb = new StringBuilder("Usage: " + jobName + " [--config FILE] [--key value ...]"
                + " [--" + KAFKA_PROPERTY_PREFIX + "<name> value ...]\n\nOptions:\n");
        for (Option o : options.values()) {
            sb.append(String.format("  --%-34s %s (default: %s)%n", o.key(), o.description(),
                    o.defaultValue() == null || o.defaultValue().isEmpty() ? "\"\"" : o.defaultValue()));
        }
        return sb.toString();
    }

    public String jobName() {
        return jobName;
    }

    public String get(Option o) {
        if (!values.containsKey(o.key())) {
            throw new IllegalArgumentException("option not declared for " + jobName + ": " + o.key());
        }
        return values.get(o.key());
    }

    public int getInt(Option o) {
        return number(o, Integer::parseInt);
    }

    public long getLong(Option o) {
        return number(o, Long::parseLong);
    }

    public double getDouble(Option o) {
        return number(o, Double::parseDouble);
    }

    private <N> N number(Option o, java.util.function.Function<String, N> parse) {
        String v = get(o).strip();
        try {
            return parse.apply(v);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(o.key() + " must be a number, got '" + v + "'", e);
        }
    }

    /** {@code true} or {@code false} (any case); anything else is an error, never a silent false. */
    public boolean getBoolean(Option o) {
        String v = get(o).strip();
        if (v.equalsIgnoreCase("true")) {
            return true;
        }
        if (v.equalsIgnoreCase("false")) {
            return false;
        }
        throw new IllegalArgumentException(o.key() + " must be true or false, got '" + v + "'");
    }

    /**
     * The user's Kafka client properties ({@code --kafka.config} file, then {@code kafka.properties.*}), for every
     * Kafka client a job creates; a fresh copy.
     */
    public Properties kafkaProperties() {
        Properties p = new Properties();
        p.putAll(kafkaProperties);
        return p;
    }

    /** Comma-separated list option. */
    public List<String> getList(Option o) {
        List<String> out = new ArrayList<>();
        for (String s : get(o).split(",")) {
            if (!s.isBlank()) {
                out.add(s.strip());
            }
        }
        return out;
    }

    public String topic(Topic topic) {
        return topic.name(get(CommonOptions.TOPIC_PREFIX));
    }
    @Override
    public String toString() {
        // Kafka properties can hold credentials: names only.
        return jobName + values + (kafkaProperties.isEmpty() ? "" : " kafka properties " + kafkaProperties.keySet());
    }
}
