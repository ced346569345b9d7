package dev.streamrec.jobs.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.streamrec.schemas.Topic;

class JobConfigTest {
    static final Option SIZE = Option.of("size", 10, "A number.");
    static final Option FLAG = Option.of("flag", false, "A boolean.");
    static final List<Option> OPTIONS = List.of(SIZE, FLAG);

    @Test
    void defaultsThenFileThenCommandLine(@TempDir Path dir) throws Exception {
        assertThat(JobConfig.parse("j", OPTIONS).getInt(SIZE)).isEqualTo(10);
        Path file = Files.writeString(dir.resolve("job.yaml"), "# comment\nsize: 20\ntopic.prefix: 'prod.'\n");
        JobConfig fromFile = JobConfig.parse("j", OPTIONS, "--config", file.toString());
        assertThat(fromFile.getInt(SIZE)).isEqualTo(20);
        assertThat(fromFile.topic(Topic.RECALL)).isEqualTo("prod.recall");
        assertThat(JobConfig.parse("j", OPTIONS, "--config", file.toString(), "--size=30").getInt(SIZE)).isEqualTo(30);
        assertThat(JobConfig.parse("j", OPTIONS, "--flag").getBoolean(FLAG)).isTrue();
    }

    @Test
    void anUnknownKeyIsAnErrorWhereverItComesFrom(@TempDir Path dir) throws Exception {
        assertThatThrownBy(() -> JobConfig.parse("j", OPTIONS, "--sise", "3"))
                .hasMessageContaining("unknown option 'sise' (command line)");
        Path file = Files.writeString(dir.resolve("job.properties"), "sise=3\n");
        assertThatThrownBy(() -> JobConfig.parse("j", OPTIONS, "--config", file.toString()))
                .hasMessageContaining("unknown option 'sise' (config file");
        assertThatThrownBy(() -> JobConfig.parse("j", OPTIONS, "positional"))
                .hasMessageContaining("expected --key value");
    }

    @Test
    void aBooleanIsTrueOrFalseAndNothingElse() {
        assertThat(JobConfig.parse("j", OPTIONS, "--flag", "FALSE").getBoolean(FLAG)).isFalse();
        JobConfig yes = JobConfig.parse("j", OPTIONS, "--flag", "yes");
        assertThatThrownBy(() -> yes.getBoolean(FLAG)).hasMessage("flag must be true or false, got 'yes'");
        JobConfig notANumber = JobConfig.parse("j", OPTIONS, "--size", "ten");
        assertThatThrownBy(() -> notANumber.getInt(SIZE)).hasMessageContaining("size must be a number, got 'ten'");
    }

    @Test
    void helpListsEveryOption() {
        assertThatThrownBy(() -> JobConfig.parse("j", OPTIONS, "--help"))
                .isInstanceOf(JobConfig.HelpRequested.class)
                .hasMessageContaining("--size").hasMessageContaining("--bootstrap.servers")
                .hasMessageContaining("--kafka.properties.<name>");
    }

    @Test
    void kafkaPropertiesComeFromAFileAndSingleOptionsOverrideIt(@TempDir Path dir) throws Exception {
        Path client = Files.writeString(dir.resolve("client.properties"),
                "security.protocol=SASL_SSL\nsasl.mechanism=PLAIN\nlinger.ms=50\n");
        Path job = Files.writeString(dir.resolve("job.yaml"), "kafka.properties.client.id: from-yaml\n");
        JobConfig config = JobConfig.parse("j", OPTIONS, "--config", job.toString(), "--kafka.config", client.toString(),
                "--kafka.properties.sasl.mechanism", "SCRAM-SHA-512");
        assertThat(config.kafkaProperties()).containsEntry("security.protocol", "SASL_SSL")
                .containsEntry("sasl.mechanism", "SCRAM-SHA-512")
                .containsEntry("linger.ms", "50")
                .containsEntry("client.id", "from-yaml");
        assertThat(JobConfig.parse("j", OPTIONS).kafkaProperties()).isEmpty();
        // Credentials never appear in the printed configuration.
        JobConfig secret = JobConfig.parse("j", OPTIONS, "--kafka.properties.sasl.jaas.config", "password=\"s3cret\"");
        assertThat(secret.toString()).contains("sasl.jaas.config").doesNotContain("s3cret");
    }

    @Test
    void splitReadsTheCommandLineAsParseDoes() {
        assertThat(JobConfig.split("--a", "1", "--b=x=y", "--c", "--d", "word", "-h")).containsExactly(
                new JobConfig.Arg("a", "1"), new JobConfig.Arg("b", "x=y"), new JobConfig.Arg("c", null),
                new JobConfig.Arg("d", "word"), new JobConfig.Arg(null, "-h"));
        assertThat(JobConfig.split("-h").get(0).isHelp()).isTrue();
        assertThat(JobConfig.split("--help").get(0).isHelp()).isTrue();
    }
}
