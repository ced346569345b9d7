package dev.streamrec.local.demo;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.offset;

import dev.streamrec.avro.ActionType;
import dev.streamrec.avro.ItemEmbedding;
import dev.streamrec.avro.ItemStatus;
import dev.streamrec.avro.UserAction;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

class MovieLensReplayTest {

    private static double norm(List<Float> v) {
        double s = 0;
        for (float x : v) {
            s += (double) x * x;
        }
        return Math.sqrt(s);
    }

    private static double cosine(float[] a, float[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) {
            s += (double) a[i] * b[i];
        }
        return s;
    }

    private static long dataLines(Path file) {
        try (Stream<String> lines = Files.lines(file)) {
            return lines.count() - 1; // header
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    // ---- CSV parsing and replay rules, on small hand-written files (always run) ----

    @Test
    void parsesQuotedFields() {
        assertThat(MovieLensReplay.parseRecord("11,\"American President, The (1995)\",Comedy|Drama|Romance"))
                .containsExactly("11", "American President, The (1995)", "Comedy|Drama|Romance");
        assertThat(MovieLensReplay.parseRecord("7789,\"11'09\"\"01 - September 11 (2002)\",Drama"))
                .containsExactly("7789", "11'09\"01 - September 11 (2002)", "Drama");
        assertThat(MovieLensReplay.parseRecord("a,,\"\",b")).containsExactly("a", "", "", "b");
        assertThat(MovieLensReplay.parseRecord("1,\"two\nlines\",x")).containsExactly("1", "two\nlines", "x");
        assertThatThrownBy(() -> MovieLensReplay.parseRecord("1,\"open")).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void replaysASmallDataSet(@TempDir Path dir) throws IOException {
        Files.writeString(dir.resolve("movies.csv"), """
                movieId,title,genres
                1,Toy Story (1995),Adventure|Animation|Children|Comedy|Fantasy
                11,"American President, The (1995)",Comedy|Drama|Romance
                99,"Untitled, \"\"Quoted\"\"",(no genres listed)
                """);
        Files.writeString(dir.resolve("ratings.csv"), """
                userId,movieId,rating,timestamp
                1,1,4.0,200
                2,11,3.5,100
                1,11,0.5,200
                3,99,5.0,100
                """);
        MovieLensReplay ml = MovieLensReplay.load(dir, "v7");
        assertThat(ml.movies()).extracting(MovieLensReplay.Movie::title)
                .containsExactly("Toy Story (1995)", "American President, The (1995)", "Untitled, \"Quoted\"");
        assertThat(ml.genres()).containsExactly("Adventure", "Animation", "Children", "Comedy", "Drama", "Fantasy",
                "Romance");

        // Ordered by time, ties in file order.
        assertThat(ml.actions()).extracting(UserAction::getEventId)
                .containsExactly("ml-2-11-100", "ml-3-99-100", "ml-1-1-200", "ml-1-11-200");
        UserAction first = ml.actions().get(0);
        assertThat(first.getUserId()).isEqualTo("u2");
        assertThat(first.getItemId()).isEqualTo("m11");
        assertThat(first.getAction()).isEqualTo(ActionType.RATE);
        assertThat(first.getValue()).isEqualTo(3.5);
        assertThat(first.getEventTime()).isEqualTo(100_000L);
        assertThat(first.getRequestId()).isNull();

        List<ItemEmbedding> items = ml.items();
        assertThat(items).extracting(ItemEmbedding::getItemId).containsExactly("m1", "m11", "m99");
        assertThat(items).allSatisfy(e -> {
            assertThat(e.getEventTime()).isEqualTo(99_999L);
            assertThat(e.getModelVersion()).isEqualTo("v7");
            assertThat(e.getStatus()).isEqualTo(ItemStatus.ACTIVE);
            assertThat(e.getVector()).hasSize(64);
            assertThat(norm(e.getVector())).isCloseTo(1.0, offset(1e-5));
        });
        assertThat(items.get(1).getCategory()).isEqualTo("Comedy");
        assertThat(items.get(1).getTags()).containsExactly("Comedy", "Drama", "Romance");
        assertThat(items.get(2).getCategory()).isEqualTo(MovieLensReplay.NO_GENRES);
        assertThat(items.get(2).getTags()).isEmpty();
    }

    @Test
    void rejectsMissingOrMalformedFiles(@TempDir Path dir) throws IOException {
        assertThatThrownBy(() -> MovieLensReplay.load(dir)).isInstanceOf(UncheckedIOException.class)
                .hasMessageContaining("movies.csv");
        Files.writeString(dir.resolve("movies.csv"), "movieId,title,genres\n1,Toy Story (1995),Comedy\n");
        Files.writeString(dir.resolve("ratings.csv"), "userId,movieId,rating,timestamp\n1,1,four,200\n");
        assertThatThrownBy(() -> MovieLensReplay.load(dir)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("ratings.csv record 2");
        Files.writeString(dir.resolve("ratings.csv"), "user,movie,rating,time\n");
        assertThatThrownBy(() -> MovieLensReplay.load(dir)).hasMessageContaining("expected header");
    }

    @Test
    void pseudoEmbeddingsFollowGenres() {
        float[] comedyDrama = MovieLensReplay.pseudoEmbedding(1, List.of("Comedy", "Drama"), 64);
        assertThat(MovieLensReplay.pseudoEmbedding(1, List.of("Comedy", "Drama"), 64)).isEqualTo(comedyDrama);
        float[] sameGenres = MovieLensReplay.pseudoEmbedding(2, List.of("Comedy", "Drama"), 64);
        float[] overlapping = MovieLensReplay.pseudoEmbedding(3, List.of("Comedy", "Horror"), 64);
        float[] disjoint = MovieLensReplay.pseudoEmbedding(4, List.of("Western", "Sci-Fi"), 64);
        assertThat(sameGenres).isNotEqualTo(comedyDrama);
        assertThat(cosine(comedyDrama, sameGenres)).isGreaterThan(0.95);
        assertThat(cosine(comedyDrama, overlapping)).isBetween(0.3, 0.9);
        assertThat(Math.abs(cosine(comedyDrama, disjoint))).isLessThan(0.4);
        assertThat(MovieLensReplay.genreCentroid("Comedy", 64)).isEqualTo(MovieLensReplay.genreCentroid("Comedy", 64));
    }

    // ---- The real data set, when present ----

    @Nested
    @TestInstance(TestInstance.Lifecycle.PER_CLASS)
    class RealDataSet {
        private final Path dir = Path.of(System.getProperty("movielens.dir", "../../shared/data/ml-latest-small"));
        private MovieLensReplay ml;

        private MovieLensReplay ml() {
            Assumptions.assumeTrue(Files.isDirectory(dir), "MovieLens not found at " + dir.toAbsolutePath() + ": skipped");
            if (ml == null) {
                ml = MovieLensReplay.load(dir, "v1");
            }
            return ml;
        }

        private boolean isLatestSmall() {
            return dir.getFileName().toString().equals("ml-latest-small");
        }

        @Test
        void countsMatchTheFiles() {
            MovieLensReplay ml = ml();
            assertThat((long) ml.ratings().size()).isEqualTo(dataLines(dir.resolve("ratings.csv")));
            // movies.csv has no multi-line records, so its line count is its record count.
            assertThat((long) ml.movies().size()).isEqualTo(dataLines(dir.resolve("movies.csv")));
            assertThat(ml.actions()).hasSameSizeAs(ml.ratings());
            assertThat(ml.items()).hasSameSizeAs(ml.movies());
            if (isLatestSmall()) {
                assertThat(ml.ratings()).hasSize(100_836);
                assertThat(ml.movies()).hasSize(9_742);
            }
            System.out.println("Loaded " + ml);
        }

        @Test
        void actionsAreOrderedByTimeWithTiesInFileOrder() {
            MovieLensReplay ml = ml();
            Map<String, Integer> fileIndex = new HashMap<>();
            long minSeconds = Long.MAX_VALUE;
            for (int i = 0; i < ml.ratings().size(); i++) {
                MovieLensReplay.Rating r = ml.ratings().get(i);
                String eventId = "ml-" + r.userId() + "-" + r.movieId() + "-" + r.timestampSeconds();
                assertThat(fileIndex.put(eventId, i)).as("unique eventId %s", eventId).isNull();
                minSeconds = Math.min(minSeconds, r.timestampSeconds());
            }
            List<UserAction> actions = ml.actions();
            UserAction previous = null;
            int ties = 0;
            for (UserAction a : actions) {
                assertThat(a.getAction()).isEqualTo(ActionType.RATE);
                assertThat(a.getValue()).isBetween(0.5, 5.0);
                if (previous != null) {
                    assertThat(a.getEventTime()).isGreaterThanOrEqualTo(previous.getEventTime());
                    if (a.getEventTime() == previous.getEventTime()) {
                        ties++;
                        assertThat(fileIndex.get(a.getEventId())).isGreaterThan(fileIndex.get(previous.getEventId()));
                    }
                }
                previous = a;
            }
            assertThat(ties).as("the data set has equal timestamps, so tie order is exercised").isPositive();
            assertThat(actions.get(0).getEventTime()).isEqualTo(minSeconds * 1000);
            long itemTime = minSeconds * 1000 - 1;
            assertThat(ml.itemsEventTime()).isEqualTo(itemTime);
            assertThat(ml.items()).allMatch(e -> e.getEventTime() == itemTime);
            // Spot-check one rating against the first data row: 1,1,4.0,964982703
            MovieLensReplay.Rating firstRow = ml.ratings().get(0);
            UserAction same = actions.stream()
                    .filter(a -> a.getEventId().equals("ml-" + firstRow.userId() + "-" + firstRow.movieId() + "-"
                            + firstRow.timestampSeconds()))
                    .findFirst().orElseThrow();
            assertThat(same.getUserId()).isEqualTo("u" + firstRow.userId());
            assertThat(same.getItemId()).isEqualTo("m" + firstRow.movieId());
            assertThat(same.getValue()).isEqualTo(firstRow.rating());
            assertThat(same.getEventTime()).isEqualTo(firstRow.timestampSeconds() * 1000);
        }

        @Test
        void quotedTitlesAreParsed() {
            MovieLensReplay ml = ml();
            Map<Integer, MovieLensReplay.Movie> byId = ml.movies().stream()
                    .collect(Collectors.toMap(MovieLensReplay.Movie::movieId, m -> m));
            assertThat(byId).hasSameSizeAs(ml.movies());
            // Every quoted row in the file is a title with a comma or a quote, and lost none of it.
            long quotedRows;
            try (Stream<String> lines = Files.lines(dir.resolve("movies.csv"))) {
                quotedRows = lines.filter(l -> l.contains("\"")).count();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            assertThat(ml.movies().stream().filter(m -> m.title().contains(",") || m.title().contains("\"")).count())
                    .isEqualTo(quotedRows).isPositive();
            if (isLatestSmall()) {
                assertThat(byId.get(11).title()).isEqualTo("American President, The (1995)");
                assertThat(byId.get(11).genres()).containsExactly("Comedy", "Drama", "Romance");
                assertThat(byId.get(7789).title()).isEqualTo("11'09\"01 - September 11 (2002)");
                assertThat(byId.get(7789).genres()).containsExactly("Drama");
            }
        }

        @Test
        void itemsCarryGenresAsCategoryAndTags() {
            MovieLensReplay ml = ml();
            // Independent genre parse: the last comma-separated field of each line.
            Set<String> genresInFile = new TreeSet<>();
            try (Stream<String> lines = Files.lines(dir.resolve("movies.csv"))) {
                lines.skip(1).forEach(l -> genresInFile.addAll(Arrays.asList(l.substring(l.lastIndexOf(',') + 1).split("\\|"))));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            genresInFile.remove(MovieLensReplay.NO_GENRES);
            assertThat(ml.genres()).isEqualTo(genresInFile);
            if (isLatestSmall()) {
                assertThat(ml.genres()).hasSize(19).contains("Sci-Fi", "Film-Noir", "IMAX");
            }

            List<ItemEmbedding> items = ml.items(); // built on each call: take it once
            Set<String> ids = new HashSet<>();
            int noGenres = 0;
            for (int i = 0; i < ml.movies().size(); i++) {
                MovieLensReplay.Movie movie = ml.movies().get(i);
                ItemEmbedding item = items.get(i);
                assertThat(ids.add(item.getItemId())).isTrue();
                assertThat(item.getItemId()).isEqualTo("m" + movie.movieId());
                assertThat(item.getTags()).isEqualTo(movie.genres());
                if (movie.genres().isEmpty()) {
                    noGenres++;
                    assertThat(item.getCategory()).isEqualTo(MovieLensReplay.NO_GENRES);
                } else {
                    assertThat(item.getCategory()).isEqualTo(movie.genres().get(0));
                }
                assertThat(item.getVector()).hasSize(64).allMatch(x -> Float.isFinite(x));
                assertThat(norm(item.getVector())).isCloseTo(1.0, offset(1e-5));
            }
            assertThat(noGenres).isPositive();
            ItemEmbedding toyStory = items.stream().filter(e -> e.getItemId().equals("m1")).findFirst().orElseThrow();
            if (isLatestSmall()) {
                assertThat(toyStory.getCategory()).isEqualTo("Adventure");
                assertThat(toyStory.getTags()).containsExactly("Adventure", "Animation", "Children", "Comedy", "Fantasy");
                assertThat(noGenres).isEqualTo(34);
            }
        }
    }
}
