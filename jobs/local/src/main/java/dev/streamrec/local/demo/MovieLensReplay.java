package dev.streamrec.local.demo;

import dev.streamrec.avro.ActionType;
import dev.streamrec.avro.ItemEmbedding;
import dev.streamrec.avro.ItemStatus;
import dev.streamrec.avro.UserAction;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.StringReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.SortedSet;
import java.util.SplittableRandom;
import java.util.TreeSet;
import java.util.function.Consumer;

/**
 * A MovieLens data set ({@code ratings.csv}, {@code movies.csv}, e.g. ml-latest-small) as pipeline records.
 *
 * <p>Ids: item {@code "m<movieId>"}, user {@code "u<userId>"} (prefixed so they never collide with the
 * synthetic generator's {@code i<n>}/{@code u<n>}... items, and are readable in logs).
 *
 * <p>Items: one ACTIVE {@link ItemEmbedding} per movie; category = first genre, or {@value #NO_GENRES} when
 * the movie has none; tags = its genres (empty when none). MovieLens has no embeddings, so the vector is a
 * <em>stand-in</em>: the normalized sum of seeded per-genre centroids plus small noise seeded by the movie id,
 * unit length. Movies sharing genres are therefore close, which is enough for recall demos; it says nothing
 * about real movie similarity. Item event time is the earliest rating time minus 1 ms, so items exist before
 * any action.
 *
 * <p>Actions: each rating is a RATE action with value = rating, event time = timestamp × 1000, eventId
 * {@code "ml-<userId>-<movieId>-<timestamp>"}, no requestId, ordered by timestamp (ties keep file order).
 *
 * <p>Everything is loaded into memory (ml-latest-small: ~100k ratings, ~10k movies).
 */
public final class MovieLensReplay {

    public static final String DEFAULT_MODEL_VERSION = "v1";
    public static final int DEFAULT_DIMENSION = 64;
    /** MovieLens's marker for a movie without genres; used as its category. */
    public static final String NO_GENRES = "(no genres listed)";

    private static final long GENRE_SEED = 0x6D6F_7669_656CL;
    private static final long MOVIE_SEED = 0x6E6F_6973_65L;
    /** Expected length of the per-movie offset from its genre direction, before normalizing. */
    private static final double MOVIE_NOISE = 0.1;

    /** One row of ratings.csv. */
    public record Rating(int userId, int movieId, double rating, long timestampSeconds) {
    }

    /** One row of movies.csv; {@code genres} is empty for {@value #NO_GENRES}. */
    public record Movie(int movieId, String title, List<String> genres) {
        public Movie {
            genres = List.copyOf(genres);
        }
    }

    private final String modelVersion;
    private final int dimension;
    private final List<Movie> movies;
    private final List<Rating> ratings;
    private final List<Rating> ratingsByTime;

    private MovieLensReplay(String modelVersion, int dimension, List<Movie> movies, List<Rating> ratings) {
        this.modelVersion = modelVersion;
        this.dimension = dimension;
        this.movies = Collections.unmodifiableList(movies);
        this.ratings = Collections.unmodifiableList(ratings);
        List<Rating> sorted = new ArrayList<>(ratings);
        sorted.sort(Comparator.comparingLong(Rating::timestampSeconds)); // List.sort is stable: ties keep file order
        this.ratingsByTime = Collections.unmodifiableList(sorted);
    }

    public static MovieLensReplay load(Path dir) {
        return load(dir, DEFAULT_MODEL_VERSION);
    }

    public static MovieLensReplay load(Path dir, String modelVersion) {
        return load(dir, modelVersion, DEFAULT_DIMENSION);
    }

    /** Reads {@code dir/movies.csv} and {@code dir/ratings.csv}; fails on a missing file or a malformed row. */
    public static MovieLensReplay load(Path dir, String modelVersion, int dimension) {
        Objects.requireNonNull(modelVersion, "modelVersion");
        if (dimension <= 0) {
            throw new IllegalArgumentException("dimension must be positive: " + dimension);
        }
        List<Movie> movies = new ArrayList<>();
        readCsv(dir.resolve("movies.csv"), List.of("movieId", "title", "genres"), row -> movies.add(
                new Movie(Integer.parseInt(row.get(0)), row.get(1), parseGenres(row.get(2)))));
        List<Rating> ratings = new ArrayList<>();
        readCsv(dir.resolve("ratings.csv"), List.of("userId", "movieId", "rating", "timestamp"), row -> ratings.add(
                new Rating(Integer.parseInt(row.get(0)), Integer.parseInt(row.get(1)),
                        Double.parseDouble(row.get(2)), Long.parseLong(row.get(3)))));
        return new MovieLensReplay(modelVersion, dimension, movies, ratings);
    }

    public static String itemId(int movieId) {
        return "m" + movieId;
    }

    public static String userId(int userId) {
        return "u" + userId;
    }

    public String modelVersion() {
        return modelVersion;
    }

    public int dimension() {
        return dimension;
    }

    /** Movies in file order. */
    public List<Movie> movies() {
        return movies;
    }

    /** Ratings in file order. */
    public List<Rating> ratings() {
        return ratings;
    }

    /** Ratings in replay order: by timestamp, ties in file order. */
    public List<Rating> ratingsByTime() {
        return ratingsByTime;
    }

    /** All distinct genres, sorted (without {@value #NO_GENRES}). */
    public SortedSet<String> genres() {
        SortedSet<String> all = new TreeSet<>();
        movies.forEach(m -> all.addAll(m.genres()));
        return Collections.unmodifiableSortedSet(all);
    }

    /** Event time of the item records: the earliest rating minus 1 ms (0 without ratings). */
    public long itemsEventTime() {
        return ratingsByTime.isEmpty() ? 0 : ratingsByTime.get(0).timestampSeconds() * 1000 - 1;
    }

    /** One embedding per movie, in file order. Builds fresh records (vectors included) on each call: keep the list. */
    public List<ItemEmbedding> items() {
        long eventTime = itemsEventTime();
        List<ItemEmbedding> result = new ArrayList<>(movies.size());
        for (Movie m : movies) {
            String category = m.genres().isEmpty() ? NO_GENRES : m.genres().get(0);
            result.add(new ItemEmbedding(itemId(m.movieId()), modelVersion,
                    DemoDataGenerator.toFloatList(pseudoEmbedding(m.movieId(), m.genres(), dimension)),
                    category, m.genres(), ItemStatus.ACTIVE, eventTime));
        }
        return result;
    }

    /** One RATE action per rating, in replay order. Builds fresh records on each call: keep the list. */
    public List<UserAction> actions() {
        List<UserAction> result = new ArrayList<>(ratingsByTime.size());
        for (Rating r : ratingsByTime) {
            result.add(new UserAction(
                    "ml-" + r.userId() + "-" + r.movieId() + "-" + r.timestampSeconds(),
                    userId(r.userId()), itemId(r.movieId()), ActionType.RATE, r.rating(),
                    r.timestampSeconds() * 1000, null));
        }
        return result;
    }

    /**
     * The stand-in vector: normalized sum of the genres' centroids (the {@value #NO_GENRES} centroid when there
     * are none), plus noise of expected length {@value #MOVIE_NOISE} seeded by the movie id, normalized again.
     * Depends only on its arguments, so it is the same for every data set and run.
     */
    public static float[] pseudoEmbedding(int movieId, List<String> genres, int dimension) {
        float[] v = new float[dimension];
        for (String genre : genres.isEmpty() ? List.of(NO_GENRES) : genres) {
            float[] c = genreCentroid(genre, dimension);
            for (int d = 0; d < dimension; d++) {
                v[d] += c[d];
            }
        }
        DemoDataGenerator.normalize(v);
        SplittableRandom rng = new SplittableRandom(MOVIE_SEED ^ (movieId * 0x9E37_79B9_7F4A_7C15L));
        double sigma = MOVIE_NOISE / Math.sqrt(dimension);
        for (int d = 0; d < dimension; d++) {
            v[d] = (float) (v[d] + sigma * DemoDataGenerator.gaussian(rng));
        }
        return DemoDataGenerator.normalize(v);
    }

    /** A genre's unit centroid, seeded by the genre name (String.hashCode is fixed by the language spec). */
    public static float[] genreCentroid(String genre, int dimension) {
        return DemoDataGenerator.randomUnitVector(new SplittableRandom(GENRE_SEED + genre.hashCode()), dimension);
    }

    private static List<String> parseGenres(String field) {
        if (field.isEmpty() || field.equals(NO_GENRES)) {
            return List.of();
        }
        return List.of(field.split("\\|"));
    }

    /** Reads a CSV file with a header row, checks the header, and hands each data row to {@code rows}. */
    private static void readCsv(Path file, List<String> expectedHeader, Consumer<List<String>> rows) {
        try (BufferedReader in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            List<String> header = readRecord(in);
            if (header != null && !header.isEmpty() && header.get(0).startsWith("\uFEFF")) {
                header.set(0, header.get(0).substring(1)); // tolerate a UTF-8 byte order mark
            }
            if (header == null || !header.equals(expectedHeader)) {
                throw new IllegalArgumentException(file + ": expected header " + expectedHeader + " but found " + header);
            }
            long line = 1;
            List<String> row;
            while ((row = readRecord(in)) != null) {
                line++;
                if (row.size() == 1 && row.get(0).isEmpty()) {
                    continue; // blank line
                }
                if (row.size() != expectedHeader.size()) {
                    throw new IllegalArgumentException(file + " record " + line + ": expected "
                            + expectedHeader.size() + " fields, got " + row);
                }
                try {
                    rows.accept(row);
                } catch (RuntimeException e) {
                    throw new IllegalArgumentException(file + " record " + line + ": cannot parse " + row, e);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file, e);
        }
    }

    /**
     * Next RFC 4180 record: fields separated by commas, optionally in double quotes, in which commas, line breaks
     * and doubled quotes ({@code ""} for {@code "}) are literal. Returns null at end of input.
     */
    static List<String> readRecord(BufferedReader in) throws IOException {
        String line = in.readLine();
        if (line == null) {
            return null;
        }
        List<String> fields = new ArrayList<>();
        StringBuilder field = new StringBuilder();
        boolean quoted = false;
        int i = 0;
        while (true) {
            if (i == line.length()) {
                if (!quoted) {
                    break;
                }
                // A quoted field continues on the next line.
                line = in.readLine();
                if (line == null) {
                    throw new IllegalArgumentException("unterminated quoted field: " + field);
                }
                field.append('\n');
                i = 0;
                continue;
            }
            char ch = line.charAt(i++);
            if (quoted) {
                if (ch != '"') {
                    field.append(ch);
                } else if (i < line.length() && line.charAt(i) == '"') {
                    field.append('"');
                    i++;
                } else {
                    quoted = false;
                }
            } else if (ch == ',') {
                fields.add(field.toString());
                field.setLength(0);
            } else if (ch == '"') {
                quoted = true;
            } else {
                field.append(ch);
            }
        }
        fields.add(field.toString());
        return fields;
    }

    /** Convenience for tests and tools: parses one CSV record given as text. */
    static List<String> parseRecord(String text) {
        try {
            return readRecord(new BufferedReader(new StringReader(text)));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public String toString() {
        return "MovieLensReplay[" + movies.size() + " movies, " + ratings.size() + " ratings, modelVersion="
                + modelVersion + ", dimension=" + dimension + "]";
    }
}
