package dev.streamrec.local;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.streamrec.jobs.config.CommonOptions;
import dev.streamrec.jobs.config.JobConfig;
import dev.streamrec.schemas.Topic;

/** The local stack's command line, checked before anything starts, and the arguments it gives the jobs. */
class LaunchOptionsTest {
    private static final List<String> JOBS = List.of("feature-job", "index-job");

    @Test
    void badValuesFailAtOnceWithOneLine(@TempDir Path dir) {
        assertUsage("--rate must be a number, got 'abc'", "--rate", "abc");
        assertUsage("--rate needs a value", "--rate");
        assertUsage("--movielens needs a value", "--movielens", "--rate", "5");
        assertUsage("--rate must be >= 0, got -1", "--rate=-1");
        assertUsage("--movielens /nonexistent: no such directory", "--movielens", "/nonexistent");
        assertUsage("--movielens " + dir + ": no ratings.csv in it", "--movielens", dir.toString());
        assertUsage("--kafka.port must be a port, 0 to 65535, got 70000", "--kafka.port", "70000");
        assertUsage("--no-demo must be true or false, got 'maybe'", "--no-demo", "maybe");
        assertUsage("--topic.prefix 'a/b': only letters", "--topic.prefix", "a/b");
        assertUsage("expected --option value, got 'extra'", "extra");
        assertUsage("unknown option --colour", "--colour", "red");
        // A job option given to the launcher says where it belongs.
        assertUsage("unknown option --parallelism (a job option: pass it to a job as --job.<job>.parallelism)",
                "--parallelism", "4");
        assertUsage("--job.index: expected --job.<job>.<option> value", "--job.index", "3");
        assertUsage("--job.index.recall.k needs a value", "--job.index.recall.k");
        assertUsage("--job.index.topic.prefix: the stack sets topic.prefix for every job (use --topic.prefix)",
                "--job.index.topic.prefix", "x.");
        assertUsage("--job.index.config /nonexistent.properties: no such file", "--job.index.config", "/nonexistent.properties");
    }

    @Test
    void movielensAndNoDemoExcludeEachOther(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("ratings.csv"), "userId,movieId,rating,timestamp\n");
        Files.writeString(dir.resolve("movies.csv"), "movieId,title,genres\n");
        assertThat(LaunchOptions.parse("--movielens", dir.toString()).config().get(LaunchOptions.MOVIELENS)).isEqualTo(dir.toString());
        assertUsage("--movielens and --no-demo exclude each other", "--movielens", dir.toString(), "--no-demo");
    }

    @Test
    void flagsAndDefaults() {
        JobConfig defaults = LaunchOptions.parse().config();
        assertThat(defaults.getBoolean(LaunchOptions.NO_DEMO)).isFalse();
        assertThat(defaults.getInt(LaunchOptions.RATE)).isEqualTo(2000);
        assertThat(LaunchOptions.parse("--no-demo").config().getBoolean(LaunchOptions.NO_DEMO)).isTrue();
        assertThat(LaunchOptions.parse("--no-demo", "--rate", "0").config().getInt(LaunchOptions.RATE)).isZero();
    }

    @Test
    void passThroughOptionsResolveShortAndFullJobNames(@TempDir Path dir) throws Exception {
        Path file = Files.writeString(dir.resolve("index.properties"), "recall.k=50\n");
        LaunchOptions options = LaunchOptions.parse("--job.index.recall.k", "100", "--job.feature-job.parallelism=1",
                "--job.index.config", file.toString());
        Map<String, LaunchOptions.JobPassThrough> byJob = options.passThrough(JOBS);
        assertThat(byJob).containsOnlyKeys("index-job", "feature-job");
        assertThat(byJob.get("index-job").options()).containsExactly(Map.entry("recall.k", "100"));
        assertThat(byJob.get("index-job").configFile()).isEqualTo(file.toString());
        assertThat(byJob.get("feature-job").options()).containsExactly(Map.entry("parallelism", "1"));
        assertThat(byJob.get("feature-job").configFile()).isNull();

        assertThatThrownBy(() -> LaunchOptions.parse("--job.dedup.x", "1").passThrough(JOBS))
                .isInstanceOf(LaunchOptions.UsageError.class)
                .hasMessage("--job.dedup.*: no job 'dedup' (jobs found: feature-job, index-job)");
        assertThatThrownBy(() -> LaunchOptions.parse("--job.index.a", "1", "--job.index-job.b", "2").passThrough(JOBS))
                .isInstanceOf(LaunchOptions.UsageError.class).hasMessageContaining("named twice");
    }

    @Test
    void jobArgsAreDefaultsThenFileThenCommandLineThenWhatTheStackOwns(@TempDir Path dir) throws Exception {
        Path file = Files.writeString(dir.resolve("index.properties"), "recall.k=50\nparallelism=3\n");
        LaunchOptions.JobPassThrough user = new LaunchOptions.JobPassThrough(Map.of("recall.k", "100"), file.toString());
        List<String> args = LaunchOptions.jobArgs(Map.of("parallelism", "2", "checkpoint.interval.ms", "2000"),
                Map.of("bootstrap.servers", "b:1"), user);
        assertThat(args).containsExactlyInAnyOrder("--parallelism=3", "--checkpoint.interval.ms=2000", "--recall.k=100",
                "--bootstrap.servers=b:1");

        Path owning = Files.writeString(dir.resolve("bad.properties"), "bootstrap.servers=elsewhere:9092\n");
        assertThatThrownBy(() -> LaunchOptions.jobArgs(Map.of(), Map.of("bootstrap.servers", "b:1"),
                new LaunchOptions.JobPassThrough(Map.of(), owning.toString())))
                .isInstanceOf(LaunchOptions.UsageError.class).hasMessageContaining("the stack sets bootstrap.servers");
    }

    @Test
    void theTopicPrefixReachesEveryJob() {
        LaunchOptions options = LaunchOptions.parse("--topic.prefix", "t1.", "--job.index.source.starting-offsets", "latest");
        LocalStack stack = new LocalStack(options);
        List<String> args = stack.jobArgs("index-job", "127.0.0.1:19092", options.passThrough(JOBS));
        assertThat(args).contains("--topic.prefix=t1.", "--bootstrap.servers=127.0.0.1:19092", "--parallelism=2",
                "--source.starting-offsets=latest");
        // Parsed as the job parses it: every topic name the job forms carries the prefix.
        JobConfig job = JobConfig.parse("index-job", List.of(), args.toArray(new String[0]));
        assertThat(job.topic(Topic.RECALL)).isEqualTo("t1.recall");
        assertThat(job.get(CommonOptions.STARTING_OFFSETS)).isEqualTo("latest");
        assertThat(stack.jobArgs("feature-job", "b:1", options.passThrough(JOBS))).contains("--topic.prefix=t1.",
                "--source.starting-offsets=earliest");
    }

    @Test
    void theTopicsAJobReadsComeFromItsSources() {
        StreamExecutionEnvironment env = StreamExecutionEnvironment.createLocalEnvironment();
        env.fromSequence(1, 2).name(Topic.IMPRESSIONS.baseName()).map(x -> x).print();
        env.fromSequence(1, 2).name("not a topic").print();
        assertThat(LocalStack.topicsRead(env)).containsExactly(Topic.IMPRESSIONS);
    }

    @Test
    void helpDocumentsPortsPassThroughAndIds() {
        String usage = LaunchOptions.usage();
        assertThat(usage).contains("--qs.proxy.port", "--qs.server.port", "--rest.port", "--kafka.port", "--no-demo",
                "--topic.prefix", "--job.<job>.<option> value", "--job.<job>.config FILE", "0 = none", "u<userId>",
                "m<movieId>", "Exit status");
        assertThatThrownBy(() -> LaunchOptions.parse("--rate", "5", "--help")).isInstanceOf(LaunchOptions.HelpRequested.class);
    }

    private static void assertUsage(String message, String... args) {
        assertThatThrownBy(() -> LaunchOptions.parse(args)).isInstanceOf(LaunchOptions.UsageError.class)
                .hasMessageStartingWith(message).hasMessageNotContaining("\n");
    }
}
