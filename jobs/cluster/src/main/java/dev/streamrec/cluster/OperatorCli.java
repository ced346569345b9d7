package dev.streamrec.cluster;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

import dev.streamrec.avro.ModelPhase;
import dev.streamrec.client.QueryCli;
import dev.streamrec.testkit.TopicAdmin;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code bin/streamrec}: the operator CLI for the pipeline on a Flink cluster (any: the local one of bin/cluster, or
 * yours with --rest and --bootstrap). Exit status 0 done, 1 failed (the message says why), 2 bad usage.
 */
@Command(name = "streamrec", mixinStandardHelpOptions = true, subcommands = {
        OperatorCli.Submit.class, OperatorCli.Status.class, OperatorCli.Savepoint.class, OperatorCli.Stop.class,
        OperatorCli.Start.class, OperatorCli.Upgrade.class, OperatorCli.Rollback.class, OperatorCli.Rescale.class,
        OperatorCli.Model.class, OperatorCli.Query.class},
        description = "Operate the streamrec pipeline on a Flink cluster: submit, status, savepoints, upgrade, roll back, rescale, model versions, queries.")
public final class OperatorCli {
    public static void main(String[] args) {
        System.exit(run(args));
    }

    static int run(String... args) {
        CommandLine cli = new CommandLine(new OperatorCli());
        cli.setExecutionExceptionHandler((e, cmd, parsed) -> {
            cmd.getErr().println("streamrec " + cmd.getCommandName() + ": " + e.getMessage());
            return 1;
        });
        return cli.execute(args);
    }

    /** Where the cluster and the broker are, and where the CLI keeps savepoints and history. */
    static final class Target {
        @Option(names = "--rest", defaultValue = "http://127.0.0.1:8081", description = "Flink REST API (default: ${DEFAULT-VALUE}).")
        String rest;
        @Option(names = "--bootstrap", defaultValue = "127.0.0.1:9092", description = "Kafka bootstrap servers (default: ${DEFAULT-VALUE}).")
        String bootstrap;
        @Option(names = "--state-dir", defaultValue = "${env:STREAMREC_CLUSTER_DIR:-/tmp/streamrec-cluster}",
                description = "Savepoint history (history/) and default savepoint folder (savepoints/) (default: ${DEFAULT-VALUE}).")
        Path stateDir;
        @Option(names = "--savepoint-dir", description = "Where savepoints go (a folder all cluster hosts share; default: STATE_DIR/savepoints).")
        Path savepointDir;
        @Option(names = "--timeout", defaultValue = "PT5M", description = "Longest wait for a job to run or a savepoint (default: ${DEFAULT-VALUE}).")
        Duration timeout;

        Operator operator() {
            Path savepoints = savepointDir != null ? savepointDir : stateDir.resolve("savepoints");
            return new Operator(new FlinkJobsApi(rest), savepoints.toAbsolutePath(), stateDir.resolve("history").toAbsolutePath(),
                    bootstrap, timeout, System.out);
        }
    }

    @Command(name = "submit", mixinStandardHelpOptions = true,
            description = "Submits the whole pipeline (feature-job, index-job, dedup-job, joiner-job), each once the one before runs.")
    static final class Submit implements Callable<Integer> {
        @Mixin Target target;
        @Option(names = "--topic-prefix", defaultValue = "", description = "Prefix of every topic (and consumer group, transactional id).")
        String topicPrefix;
        @Option(names = "--option", description = "A job's own option: JOB=--key=value (repeatable).") List<String> options = new ArrayList<>();
        @Option(names = "--jar", description = "A job's jar: JOB=PATH (default: JOB/target/JOB-*-job.jar).") Map<String, Path> jars = new LinkedHashMap<>();
        @Option(names = "--parallelism", description = "A job's parallelism: JOB=N (default: the cluster's).") Map<String, Integer> parallelism = new LinkedHashMap<>();
        @Option(names = "--create-topics", description = "Create the pipeline's topics first (those missing), with this many partitions.")
        Integer partitions;

        @Override
        public Integer call() throws Exception {
            if (partitions != null) {
                TopicAdmin.createPipelineTopics(target.bootstrap, topicPrefix, partitions);
            }
            Map<String, List<String>> byJob = new LinkedHashMap<>();
            for (String o : options) {
                int eq = o.indexOf('=');
                if (eq < 0 || !Operator.PIPELINE.contains(o.substring(0, eq))) {
                    throw new CommandLine.ParameterException(new CommandLine(this), "--option wants JOB=--key=value, JOB one of "
                            + Operator.PIPELINE + ": " + o);
                }
                byJob.computeIfAbsent(o.substring(0, eq), k -> new ArrayList<>()).add(o.substring(eq + 1));
            }
            long t0 = System.nanoTime();
            Map<String, String> ids = target.operator().submitPipeline(Path.of(""), topicPrefix, byJob, jars, parallelism);
            System.out.printf("pipeline running (%d jobs) in %.1f s%n", ids.size(), (System.nanoTime() - t0) / 1e9);
            return 0;
        }
    }

    @Command(name = "status", mixinStandardHelpOptions = true, description = "Each job: state, uptime, last checkpoint, lag per input topic.")
    static final class Status implements Callable<Integer> {
        @Mixin Target target;
        @Option(names = "--topic-prefix", defaultValue = "") String topicPrefix;

        @Override
        public Integer call() throws Exception {
            target.operator().status(topicPrefix).forEach(System.out::println);
            return 0;
        }
    }

    @Command(name = "savepoint", mixinStandardHelpOptions = true, description = "Triggers a savepoint of a running job (it keeps running).")
    static final class Savepoint implements Callable<Integer> {
        @Mixin Target target;
        @Parameters(index = "0", description = "The job, e.g. index-job.") String job;

        @Override
        public Integer call() throws Exception {
            target.operator().savepoint(job);
            return 0;
        }
    }

    @Command(name = "stop", mixinStandardHelpOptions = true, description = "Stops a job with a savepoint (kept in its history).")
    static final class Stop implements Callable<Integer> {
        @Mixin Target target;
        @Parameters(index = "0") String job;

        @Override
        public Integer call() throws Exception {
            target.operator().stop(job);
            return 0;
        }
    }

    @Command(name = "start", mixinStandardHelpOptions = true,
            description = "Starts a job, from a savepoint when given; the jar and arguments default to its last start.")
    static final class Start implements Callable<Integer> {
        @Mixin Target target;
        @Parameters(index = "0") String job;
        @Option(names = "--jar") Path jar;
        @Option(names = "--from-savepoint", description = "A savepoint (or retained checkpoint) path.") String savepoint;
        @Option(names = "--from-last-savepoint", description = "The newest savepoint in the job's history.") boolean lastSavepoint;
        @Option(names = "--allow-non-restored-state", description = "Start even if the savepoint holds state no operator takes (dropped).")
        boolean allowNonRestored;
        @Option(names = "--parallelism", defaultValue = "0") int parallelism;
        @Option(names = "--topic-prefix", defaultValue = "") String topicPrefix;
        @Option(names = "--option", description = "The job's own option --key=value (repeatable; replaces the last start's).")
        List<String> options = new ArrayList<>();

        @Override
        public Integer call() throws Exception {
            Operator op = target.operator();
            JobHistory history = op.history(job);
            JobHistory.Entry last = history.lastStart().orElse(null);
            String from = savepoint;
            if (lastSavepoint) {
                from = history.lastSavepoint().map(JobHistory.Entry::savepoint)
                        .orElseThrow(() -> new IllegalStateException("no savepoint of " + job + " in its history"));
            }
            Path useJar = jar != null ? jar : last != null ? Path.of(last.jar()) : Operator.defaultJar(Path.of(""), job);
            List<String> args = last != null && options.isEmpty() && topicPrefix.isEmpty() ? last.args() : op.jobArgs(topicPrefix, options);
            op.start(job, useJar.toAbsolutePath(), args, parallelism > 0 ? parallelism : last == null ? 0 : last.parallelism(),
                    from, allowNonRestored);
            return 0;
        }
    }

    @Command(name = "upgrade", mixinStandardHelpOptions = true, description = "Stop with a savepoint, start a new build from it.")
    static final class Upgrade implements Callable<Integer> {
        @Mixin Target target;
        @Parameters(index = "0") String job;
        @Option(names = "--jar", required = true) Path jar;
        @Option(names = "--allow-non-restored-state") boolean allowNonRestored;

        @Override
        public Integer call() throws Exception {
            target.operator().upgrade(job, jar.toAbsolutePath(), 0, allowNonRestored);
            return 0;
        }
    }

    @Command(name = "rollback", mixinStandardHelpOptions = true,
            description = "Back to the build that ran before: from a savepoint taken now (default), or --from-upgrade-savepoint.")
    static final class Rollback implements Callable<Integer> {
        @Mixin Target target;
        @Parameters(index = "0") String job;
        @Option(names = "--from-upgrade-savepoint",
                description = "Restore the savepoint the current build started from (replays and writes again what came since).")
        boolean fromUpgradeSavepoint;

        @Override
        public Integer call() throws Exception {
            target.operator().rollback(job, fromUpgradeSavepoint);
            return 0;
        }
    }

    @Command(name = "rescale", mixinStandardHelpOptions = true, description = "Stop with a savepoint, start again at another parallelism.")
    static final class Rescale implements Callable<Integer> {
        @Mixin Target target;
        @Parameters(index = "0") String job;
        @Option(names = "--parallelism", required = true) int parallelism;

        @Override
        public Integer call() throws Exception {
            long t0 = System.nanoTime();
            target.operator().rescale(job, parallelism);
            System.out.printf("rescaled %s to %d in %.1f s%n", job, parallelism, (System.nanoTime() - t0) / 1e9);
            return 0;
        }
    }

    @Command(name = "model", mixinStandardHelpOptions = true,
            description = "Publishes a model version's phase (LOADING, SERVING, RETIRED) to model-versions; SERVING only once index-job holds the expected items.")
    static final class Model implements Callable<Integer> {
        @Mixin Target target;
        @Option(names = "--version", required = true) String version;
        @Option(names = "--phase", required = true, description = "LOADING, SERVING or RETIRED.") ModelPhase phase;
        @Option(names = "--expected-items", description = "Items the version must hold in index-job before SERVING (checked over its metrics).")
        Long expectedItems;
        @Option(names = "--dimension", description = "The version's vector dimension (repeat it with SERVING: model-versions is compacted).")
        Integer dimension;
        @Option(names = "--topic-prefix", defaultValue = "") String topicPrefix;

        @Override
        public Integer call() throws Exception {
            target.operator().publishModelPhase(topicPrefix, version, phase, expectedItems, dimension);
            return 0;
        }
    }

    @Command(name = "query", mixinStandardHelpOptions = false, description = "A user's features, recall or fresh recall (bin/query; 'query --help').")
    static final class Query implements Callable<Integer> {
        @Parameters(arity = "0..*") List<String> args = new ArrayList<>();

        @Override
        public Integer call() {
            return QueryCli.run(args.toArray(new String[0]), System.out, System.err);
        }
    }
}
