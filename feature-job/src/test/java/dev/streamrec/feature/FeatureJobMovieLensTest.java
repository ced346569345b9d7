package dev.streamrec.feature;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import org.apache.flink.core.execution.JobClient;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import dev.streamrec.avro.ActionType;
import dev.streamrec.avro.ItemEmbedding;
import dev.streamrec.avro.UserFeatures;
import dev.streamrec.client.QueryableStateReader;
import dev.streamrec.jobs.JobSetup;
import dev.streamrec.jobs.config.JobConfig;
import dev.streamrec.local.demo.MovieLensReplay;
import dev.streamrec.schemas.QueryableStates;
import dev.streamrec.schemas.Topic;
import dev.streamrec.testkit.KafkaTestIO;
import dev.streamrec.testkit.PipelineTestCluster;

/**
 * Replays MovieLens (ml-latest-small: ~100k ratings) through feature-job on a real broker and MiniCluster and checks a
 * sample of users' features, read through queryable state, against a computation made here straight from the CSV
 * files. Skipped, with a message, when the data set is not there.
 */
class FeatureJobMovieLensTest {
    @RegisterExtension
    static final PipelineTestCluster CLUSTER = new PipelineTestCluster();

    private static final int SAMPLE_USERS = 30;

    @Test
    void sampledUsersMatchAnIndependentComputationFromTheCsvFiles() throws Exception {
        Path dir = Path.of(System.getProperty("movielens.dir", "../../shared/data/ml-latest-small"));
        assumeTrue(Files.isRegularFile(dir.resolve("ratings.csv")), "MovieLens not found at " + dir.toAbsolutePath() + ": skipped");

        CLUSTER.createPipelineTopics(2);
        String prefix = CLUSTER.topicPrefix();
        JobConfig config = new FeatureJob().parseConfig(
                "--bootstrap.servers", CLUSTER.bootstrapServers(), "--topic.prefix", prefix, "--parallelism", "2",
                "--checkpoint.interval.ms", "1000", "--source.starting-offsets", "earliest",
                // 1996-2018 history replayed today: decades behind the wall clock, by design.
                "--input.max-past-skew.ms", String.valueOf(Long.MAX_VALUE / 4));
        FeatureParams params = FeatureParams.from(config);

        MovieLensReplay replay = MovieLensReplay.load(dir);
        try (KafkaTestIO kafka = new KafkaTestIO(CLUSTER.bootstrapServers())) {
            JobClient job = JobSetup.submit(new FeatureJob(), CLUSTER.environment(), config);
            CLUSTER.awaitJobRunning(job.getJobID(), Duration.ofMinutes(1));
            for (ItemEmbedding item : replay.items()) {
                kafka.produceAsync(Topic.ITEM_EMBEDDINGS.name(prefix), item.getItemId(), item, System.currentTimeMillis());
            }
            kafka.flush();
            FeatureScenario.awaitItemsIngested(kafka, prefix);
            FeatureScenario.replayActions(kafka, prefix, replay.actions());

            // Every rating processed and checkpointed: then each sampled user's state is final.
            assertThat(dev.streamrec.testkit.TopicAdmin.awaitCommittedToEnd(CLUSTER.bootstrapServers(),
                    prefix + FeatureJob.NAME, Topic.USER_ACTIONS.name(prefix), Duration.ofMinutes(5)))
                    .as("feature-job consumed all ratings").isTrue();
            Map<String, ReferenceFeatures> expected = referenceFromCsv(dir, params);
            try (QueryableStateReader reader = new QueryableStateReader(CLUSTER.queryableStateClient())) {
                for (Map.Entry<String, ReferenceFeatures> e : expected.entrySet()) {
                    UserFeatures f = reader.lookup(job.getJobID(), e.getKey(), QueryableStates.userFeatures(),
                            Duration.ofSeconds(30), x -> x.getUpdateSeq() >= e.getValue().count);
                    assertThat(f).as("features of %s", e.getKey()).isNotNull();
                    e.getValue().assertMatches(f);
                }
            }
            job.cancel().get();
        }
    }

    /** Reads the CSV files directly (not through MovieLensReplay) and computes the sampled users' features. */
    static Map<String, ReferenceFeatures> referenceFromCsv(Path dir, FeatureParams params) throws IOException {
        Map<Integer, List<String>> genres = new HashMap<>();
        List<String> movieLines = Files.readAllLines(dir.resolve("movies.csv"));
        for (String line : movieLines.subList(1, movieLines.size())) {
            // movieId,title,genres: the title may hold quoted commas, the id and genres never do.
            int movieId = Integer.parseInt(line.substring(0, line.indexOf(',')));
            String g = line.substring(line.lastIndexOf(',') + 1).strip();
            genres.put(movieId, g.equals("(no genres listed)") ? List.of() : Arrays.asList(g.split("\\|")));
        }
        Map<Integer, List<String[]>> byUser = new TreeMap<>();
        List<String> ratingLines = Files.readAllLines(dir.resolve("ratings.csv"));
        for (String line : ratingLines.subList(1, ratingLines.size())) {
            String[] f = line.split(",");
            byUser.computeIfAbsent(Integer.parseInt(f[0]), k -> new ArrayList<>()).add(f);
        }
        // A spread of users: light, median and heavy raters.
        List<Integer> users = new ArrayList<>(byUser.keySet());
        users.sort((a, b) -> Integer.compare(byUser.get(a).size(), byUser.get(b).size()));
        Map<String, ReferenceFeatures> out = new LinkedHashMap<>();
        for (int i = 0; i < SAMPLE_USERS; i++) {
            int user = users.get(i * (users.size() - 1) / (SAMPLE_USERS - 1));
            List<ReferenceFeatures.Applied> applied = new ArrayList<>();
            for (String[] r : byUser.get(user)) {
                int movieId = Integer.parseInt(r[1]);
                List<String> g = genres.get(movieId);
                float[] v = MovieLensReplay.pseudoEmbedding(movieId, g, 64); // the stand-in embedding is input data
                List<Float> vector = new ArrayList<>(v.length);
                for (float x : v) {
                    vector.add(x);
                }
                applied.add(new ReferenceFeatures.Applied("ml", "m" + movieId, ActionType.RATE, Double.parseDouble(r[2]),
                        Long.parseLong(r[3]) * 1000, g.isEmpty() ? "(no genres listed)" : g.get(0), g, Map.of("v1", vector)));
            }
            out.put("u" + user, new ReferenceFeatures(applied, params));
        }
        return out;
    }
}
