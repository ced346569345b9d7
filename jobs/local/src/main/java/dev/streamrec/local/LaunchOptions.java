package dev.streamrec.local;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

import dev.streamrec.jobs.config.CommonOptions;
import dev.streamrec.jobs.config.JobConfig;
import dev.streamrec.jobs.config.Option;

/**
 * The local stack's command line, checked before anything starts: the launcher's own options (each value checked:
 * numbers, ports, the MovieLens directory, the job jars) and the options passed through to the jobs,
 * {@code --job.<job>.<option> value} and {@code --job.<job>.config FILE}, where {@code <job>} is a job's name
 * ({@code index-job}) or its short form ({@code index}). Every problem is a {@link UsageError} with a one-line message.
 */
final class LaunchOptions {
    static final Option MOVIELENS = Option.of("movielens", "", "Replay a MovieLens directory (ratings.csv, movies.csv) instead of the generator.");
    static final Option NO_DEMO = Option.of("no-demo", false,
            "No generated data at all (no items, actions or impressions): the topics are created, you bring the data.");
    static final Option RATE = Option.of("rate", 2000,
            "Demo events (actions, and impressions when a job reads them) produced per second; 0 = none (items are still produced).");
    static final Option USERS = Option.of("users", 10000, "Generator: users (ids u0, u1, ...).");
    static final Option ITEMS = Option.of("items", 5000, "Generator: items (ids i0, i1, ...).");
    static final Option SEED = Option.of("seed", 42, "Generator: random seed.");
    static final Option PARTITIONS = Option.of("partitions", 2, "Partitions per topic.");
    static final Option KAFKA_PORT = Option.of("kafka.port", 9092, "Kafka broker port (0 = any free port).");
    static final Option REST_PORT = Option.of("rest.port", 8081, "Flink REST / web UI port, bin/query --rest (0 = any free port).");
    static final Option PROXY_PORT = Option.of("qs.proxy.port", 9069,
            "Queryable state proxy port, what clients connect to (bin/query --proxy; 0 = any free port).");
    static final Option SERVER_PORT = Option.of("qs.server.port", 9067,
            "Queryable state server port, the TaskManager's state server the proxy asks (0 = any free port).");
    static final Option JOB_JARS = Option.of("job.jars", "", "Comma-separated job jars; default: every */target/*-job.jar below the working directory.");
    static final Option DURATION_S = Option.of("duration.s", 0, "Stop after this many seconds (0 = run until Ctrl-C).");
    static final Option PRINT_EVERY_S = Option.of("print.every.s", 5, "Seconds between status reports.");
    static final List<Option> OPTIONS = List.of(MOVIELENS, NO_DEMO, RATE, USERS, ITEMS, SEED, PARTITIONS,
            CommonOptions.TOPIC_PREFIX, KAFKA_PORT, REST_PORT, PROXY_PORT, SERVER_PORT, JOB_JARS, DURATION_S, PRINT_EVERY_S);

    /** The pass-through prefix: {@code --job.<job>.<option>}. */
    static final String JOB_PREFIX = "job.";
    /** The pass-through option naming a job's own config file. */
    static final String JOB_CONFIG = "config";
    /** Job options the stack sets for every job itself: the broker it started, and its one topic prefix. */
    static final Set<String> STACK_OWNED = Set.of(CommonOptions.BOOTSTRAP_SERVERS.key(), CommonOptions.TOPIC_PREFIX.key());
    /** Kafka's legal topic characters: the prefix becomes part of every topic name. */
    private static final Pattern TOPIC_CHARS = Pattern.compile("[a-zA-Z0-9._-]*");

    /** A bad command line: the message is one line, for the user. */
    static final class UsageError extends RuntimeException {
        UsageError(String message) {
            super(message);
        }
    }

    /** {@code --help}: the message is the usage text. */
    static final class HelpRequested extends RuntimeException {
        HelpRequested(String usage) {
            super(usage);
        }
    }

    /** What the user passes to one job: single options, and a config file of options (read when the job's args are built). */
    record JobPassThrough(Map<String, String> options, String configFile) {}

    private final JobConfig config;
    /** Keyed by the job as the user named it (full or short name), in command-line order. */
    private final Map<String, JobPassThrough> passThrough;

    private LaunchOptions(JobConfig config, Map<String, JobPassThrough> passThrough) {
        this.config = config;
        this.passThrough = passThrough;
    }

    JobConfig config() {
        return config;
    }

    /** Parses and checks {@code args}; throws {@link HelpRequested} for --help, {@link UsageError} otherwise. */
    static LaunchOptions parse(String... args) {
        Map<String, Option> known = OPTIONS.stream().collect(Collectors.toMap(Option::key, o -> o, (a, b) -> a, LinkedHashMap::new));
        List<String> launcherArgs = new ArrayList<>();
        Map<String, Map<String, String>> jobOptions = new LinkedHashMap<>();
        Map<String, String> jobFiles = new LinkedHashMap<>();
        for (JobConfig.Arg arg : JobConfig.split(args)) {
            if (arg.isHelp()) {
                throw new HelpRequested(usage());
            }
            if (arg.key() == null || arg.key().isEmpty()) {
                throw new UsageError("expected --option value, got '" + (arg.key() == null ? arg.value() : "--") + "'");
            }
            String key = arg.key();
            String value = arg.value();
            if (key.startsWith(JOB_PREFIX) && !known.containsKey(key)) {
                int dot = key.indexOf('.', JOB_PREFIX.length());
                if (dot < 0 || dot == key.length() - 1 || dot == JOB_PREFIX.length()) {
                    throw new UsageError("--" + key + ": expected --job.<job>.<option> value (e.g. --job.index.recall.k 100)");
                }
                String job = key.substring(JOB_PREFIX.length(), dot);
                String option = key.substring(dot + 1);
                String v = required(key, value);
                if (option.equals(JOB_CONFIG)) {
                    jobFiles.put(job, existingFile(key, v));
                } else if (STACK_OWNED.contains(option)) {
                    throw new UsageError("--" + key + ": the stack sets " + option + " for every job"
                            + (option.equals(CommonOptions.TOPIC_PREFIX.key()) ? " (use --topic.prefix)" : ""));
                } else {
                    jobOptions.computeIfAbsent(job, j -> new LinkedHashMap<>()).put(option, v);
                }
                jobFiles.putIfAbsent(job, null);
                continue;
            }
            if (!known.containsKey(key)) {
                String unknown = key;
                boolean jobOption = CommonOptions.ALL.stream().anyMatch(o -> o.key().equals(unknown))
                        || key.startsWith(JobConfig.KAFKA_PROPERTY_PREFIX);
                throw new UsageError("unknown option --" + key + (jobOption
                        ? " (a job option: pass it to a job as --job.<job>." + key + ")" : ""));
            }
            if (known.get(key) == NO_DEMO) {
                // A flag: "--no-demo" alone, or with an explicit true/false.
                value = value == null ? "true" : value;
            }
            launcherArgs.add("--" + key + "=" + required(key, value));
        }
        JobConfig config;
        try {
            config = JobConfig.parse("run-local", OPTIONS, launcherArgs.toArray(new String[0]));
        } catch (IllegalArgumentException e) {
            throw new UsageError(e.getMessage().lines().findFirst().orElse(e.toString()));
        }
        check(config);
        Map<String, JobPassThrough> passThrough = new LinkedHashMap<>();
        jobFiles.forEach((job, file) -> passThrough.put(job, new JobPassThrough(jobOptions.getOrDefault(job, Map.of()), file)));
        return new LaunchOptions(config, passThrough);
    }

    private static String required(String key, String value) {
        if (value == null || value.isBlank()) {
            throw new UsageError("--" + key + " needs a value");
        }
        return value;
    }

    private static String existingFile(String key, String file) {
        if (!Files.isRegularFile(Path.of(file))) {
            throw new UsageError("--" + key + " " + file + ": no such file");
        }
        return file;
    }

    /** Every launcher value, checked before anything starts. */
    private static void check(JobConfig c) {
        try {
            atLeast(c, RATE, 0);
            atLeast(c, USERS, 1);
            atLeast(c, ITEMS, 1);
            c.getLong(SEED);
            atLeast(c, PARTITIONS, 1);
            for (Option port : List.of(KAFKA_PORT, REST_PORT, PROXY_PORT, SERVER_PORT)) {
                if (c.getInt(port) < 0 || c.getInt(port) > 65535) {
                    throw new UsageError("--" + port.key() + " must be a port, 0 to 65535, got " + c.get(port));
                }
            }
            if (c.getLong(DURATION_S) < 0) {
                throw new UsageError("--" + DURATION_S.key() + " must be >= 0, got " + c.get(DURATION_S));
            }
            atLeast(c, PRINT_EVERY_S, 1);
            c.getBoolean(NO_DEMO);
        } catch (IllegalArgumentException e) {
            throw new UsageError("--" + e.getMessage());
        }
        String prefix = c.get(CommonOptions.TOPIC_PREFIX);
        if (!TOPIC_CHARS.matcher(prefix).matches()) {
            throw new UsageError("--topic.prefix '" + prefix + "': only letters, digits, '.', '_' and '-' are legal in topic names");
        }
        String movielens = c.get(MOVIELENS);
        if (!movielens.isBlank()) {
            if (c.getBoolean(NO_DEMO)) {
                throw new UsageError("--movielens and --no-demo exclude each other");
            }
            Path dir = Path.of(movielens);
            if (!Files.isDirectory(dir)) {
                throw new UsageError("--movielens " + movielens + ": no such directory");
            }
            for (String file : List.of("ratings.csv", "movies.csv")) {
                if (!Files.isRegularFile(dir.resolve(file))) {
                    throw new UsageError("--movielens " + movielens + ": no " + file + " in it (expected a MovieLens directory such as ml-latest-small)");
                }
            }
        }
        for (String jar : c.getList(JOB_JARS)) {
            if (!Files.isRegularFile(Path.of(jar))) {
                throw new UsageError("--job.jars: no such file: " + jar);
            }
        }
    }

    private static void atLeast(JobConfig c, Option o, int min) {
        if (c.getInt(o) < min) {
            throw new UsageError("--" + o.key() + " must be >= " + min + ", got " + c.get(o));
        }
    }

    /**
     * The job names the pass-through options name, resolved against the jobs found ({@code index} is
     * {@code index-job}); a name that matches none is a {@link UsageError} listing the jobs there are.
     */
    Map<String, JobPassThrough> passThrough(Collection<String> jobNames) {
        Map<String, JobPassThrough> byJob = new LinkedHashMap<>();
        passThrough.forEach((given, options) -> {
            String job = jobNames.stream().filter(n -> n.equals(given) || n.equals(given + "-job")).findFirst()
                    .orElseThrow(() -> new UsageError("--job." + given + ".*: no job '" + given + "' (jobs found: "
                            + String.join(", ", jobNames) + ")"));
            if (byJob.containsKey(job)) {
                throw new UsageError("--job." + given + ".*: " + job + " is named twice (full and short name); use one");
            }
            byJob.put(job, options);
        });
        return byJob;
    }

    /**
     * One job's arguments: the stack's defaults, overridden by the user's config file, overridden by the user's
     * single options; then the options only the stack sets. As {@code --key=value}, so no value is mistaken for an option.
     */
    static List<String> jobArgs(Map<String, String> stackDefaults, Map<String, String> stackOwned, JobPassThrough user) {
        Map<String, String> merged = new LinkedHashMap<>(stackDefaults);
        if (user != null) {
            if (user.configFile() != null) {
                Map<String, String> file = JobConfig.readFile(Path.of(user.configFile()));
                file.keySet().stream().filter(STACK_OWNED::contains).findFirst().ifPresent(k -> {
                    throw new UsageError(user.configFile() + ": the stack sets " + k + " for every job; remove it");
                });
                merged.putAll(file);
            }
            merged.putAll(user.options());
        }
        merged.putAll(stackOwned);
        return merged.entrySet().stream().map(e -> "--" + e.getKey() + "=" + e.getValue()).collect(Collectors.toList());
    }

    static String usage() {
        StringBuilder sb = new StringBuilder(String.join("\n",
                "Usage: bin/run-local [options] [--job.<job>.<option> value ...] [--job.<job>.config FILE ...]",
                "",
                "Starts a Kafka broker, creates the pipeline topics, starts a Flink cluster (RocksDB, queryable state),",
                "submits every job of the job jars and feeds demo data (the generator, or a MovieLens replay) until",
                "Ctrl-C or --duration.s. Impressions are produced only when a submitted job reads the impressions",
                "topic. 'events in' in the status line counts the records the jobs' decoders read.",
                "",
                "Options:",
                ""));
        for (Option o : OPTIONS) {
            sb.append(String.format("  --%-20s %s (default: %s)%n", o.key(), o.description(),
                    o.defaultValue().isEmpty() ? "\"\"" : o.defaultValue()));
        }
        sb.append(String.join("\n",
                "",
                "Job options (passed through to one job; <job> is its name or short name: index-job or index,",
                "feature-job or feature; a name no job jar declares is an error):",
                "  --job.<job>.<option> value   one option of that job, e.g. --job.index.recall.k 100",
                "  --job.<job>.config FILE      a properties (or flat YAML) file of that job's options",
                "Single options override the file, the file overrides the stack's defaults for the jobs",
                "(parallelism 2, checkpoint.interval.ms 2000, source.starting-offsets earliest). bootstrap.servers and",
                "topic.prefix are set by the stack for every job. Each job's options: java -jar <job>/target/<job>-job.jar --help.",
                "",
                "Ids: the generator's users are u0..u<users-1> and items i0..i<items-1>; a MovieLens replay's users are",
                "u<userId> and items m<movieId>.",
                "",
                "Exit status: 0 stopped (Ctrl-C or --duration.s); 64 a bad option or input, nothing was started;",
                "1 a failure while starting or running (e.g. the demo producer failed).",
                ""));
        return sb.toString();
    }
}
