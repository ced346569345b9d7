package dev.streamrec.jobs.config;

import java.util.List;

/** Options every job understands. */
public final class CommonOptions {
    public static final Option BOOTSTRAP_SERVERS = Option.of("bootstrap.servers", "localhost:9092", "Kafka bootstrap servers.");
    public static final Option KAFKA_CONFIG = Option.of("kafka.config", "",
            "A Kafka client properties file (e.g. security.protocol, sasl.*, ssl.*) applied to every Kafka client of the job; "
                    + "--kafka.properties.<name> options override single properties.");
    public static final Option PRODUCER_LINGER_MS = Option.of("sink.linger.ms", 5,
            "Producer linger.ms of the output sinks (a default: kafka.properties.linger.ms overrides it).");
    public static final Option PRODUCER_COMPRESSION = Option.of("sink.compression", "lz4",
            "Producer compression.type of the output sinks (a default: kafka.properties.compression.type overrides it).");
    public static final Option TOPIC_PREFIX = Option.of("topic.prefix", "", "Prefix added to every topic name (e.g. 'prod.').");
    public static final Option PARALLELISM = Option.of("parallelism", 0, "Job parallelism; 0 keeps the cluster default.");
    public static final Option MAX_PARALLELISM = Option.of("max.parallelism", 128,
            "Key groups: the upper bound for rescaling. Fixed for the life of the state (changing it breaks savepoints).");
    public static final Option CHECKPOINT_INTERVAL_MS = Option.of("checkpoint.interval.ms", 0,
            "Exactly-once checkpoint interval; transactional output becomes visible at each checkpoint. 0 = the cluster's "
                    + "execution.checkpointing.interval (flink-conf/config.yaml); a job without either does not start.");
    public static final Option DELIVERY = Option.of("sink.delivery", "exactly-once",
            "Output guarantee: exactly-once (Kafka transactions, read_committed readers) or at-least-once.");
    public static final Option TRANSACTION_TIMEOUT_MS = Option.of("sink.transaction.timeout.ms", 900000,
            "Producer transaction timeout; must stay <= the broker's transaction.max.timeout.ms (15 min by default) "
                    + "and far above checkpoint interval + restart time.");
    public static final Option TRANSACTION_NAMING = Option.of("sink.transaction-naming", "pooling",
            "Transactional id strategy of exactly-once sinks: pooling (reuses a small pool of producers and ids; needs the "
                    + "broker's ListTransactions API, Kafka 3.0+) or incrementing (a new id and producer per checkpoint).");
    public static final Option OBJECT_REUSE = Option.of("pipeline.object-reuse", true,
            "Pass records between chained operators without a defensive copy (the jobs never modify a record after emitting it).");
    public static final Option STARTING_OFFSETS = Option.of("source.starting-offsets", "committed-or-earliest",
            "Where sources start without a checkpoint: committed-or-earliest, earliest or latest.");
    public static final Option OUT_OF_ORDERNESS_MS = Option.of("watermark.out-of-orderness.ms", 5000,
            "Bounded out-of-orderness of event time.");
    public static final Option IDLENESS_MS = Option.of("watermark.idleness.ms", 10000,
            "A source partition with no data for this long stops holding back the watermark.");
    public static final Option MAX_FUTURE_SKEW_MS = Option.of("input.max-future-skew.ms", 3600000,
            "Records with event time further than this ahead of the wall clock are dead-lettered.");
    public static final Option MAX_PAST_SKEW_MS = Option.of("input.max-past-skew.ms", 7L * 24 * 3600 * 1000,
            "Records with event time further than this behind the newest event time seen are dead-lettered.");
    public static final Option VERSION_WAIT_MS = Option.of("model.version-wait.ms", 30000,
            "After a start, items of a model version not yet seen on model-versions wait this long (processing time) "
                    + "for its record before the default dimension applies: the two topics are read side by side.");
    public static final Option STATE_BACKEND = Option.of("state.backend", "rocksdb", "State backend (rocksdb or hashmap).");

    public static final List<Option> ALL = List.of(BOOTSTRAP_SERVERS, KAFKA_CONFIG, PRODUCER_LINGER_MS, PRODUCER_COMPRESSION, TOPIC_PREFIX, PARALLELISM, MAX_PARALLELISM,
            CHECKPOINT_INTERVAL_MS, DELIVERY, TRANSACTION_TIMEOUT_MS, TRANSACTION_NAMING, OBJECT_REUSE, STARTING_OFFSETS, OUT_OF_ORDERNESS_MS,
            IDLENESS_MS, MAX_FUTURE_SKEW_MS, MAX_PAST_SKEW_MS, VERSION_WAIT_MS, STATE_BACKEND);

    private CommonOptions() {}
}
