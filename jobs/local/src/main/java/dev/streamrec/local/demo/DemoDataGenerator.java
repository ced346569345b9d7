package dev.streamrec.local.demo;

import dev.streamrec.avro.ActionType;
import dev.streamrec.avro.Impression;
import dev.streamrec.avro.ItemEmbedding;
import dev.streamrec.avro.ItemStatus;
import dev.streamrec.avro.UserAction;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Objects;
import java.util.SplittableRandom;
import org.apache.avro.specific.SpecificRecord;

/**
 * Synthetic catalogue and traffic for demos and tests, deterministic for a seed.
 *
 * <p>Catalogue: {@code items} items ({@code "i0"}, {@code "i1"}, ...) in {@code categories} clusters
 * ({@code "cat-00"}, ...; item {@code i} is in cluster {@code i % categories}), each vector a unit-length point
 * near its cluster's centroid, 0..{@code maxTagsPerItem} tags ({@code "tag-00"}, ...) mostly from its cluster's
 * favourite tags.
 *
 * <p>Traffic: a fixed number of concurrent sessions; each session belongs to a user drawn by Zipf activity
 * ({@code "u0"}, ...), has a category (mostly the user's home category) and makes a geometric number of feed
 * requests. A request shows {@code impressionsPerRequest} distinct items (Zipf popularity, biased toward the
 * session category; channel {@code "i2i"} for the category-biased draws, {@code "u2i"} for the rest), and then
 * the user acts on some of them through a funnel VIEW → CLICK → LIKE/SHARE/COMMENT/COMPLETE/PURCHASE/RATE, or
 * VIEW → DISLIKE. Every action carries the {@code requestId} of the request whose impression it follows, and
 * comes after that impression in the stream.
 *
 * <p>{@link #events()} interleaves impressions and actions in non-decreasing event time. With synthetic time
 * (the default) requests and actions are exponentially spaced with mean {@link Config#meanInterArrivalMs()}
 * starting at {@link Config#startTime()} (a request's impressions all carry the request's time), so a seed fixes
 * every field of every event; with
 * {@link Config#wallClock()} the event time is the wall clock when the event is generated (never decreasing),
 * and the caller paces the stream. Generation is lazy: nothing but the catalogue is held in memory.
 *
 * <p>Not thread-safe: each iterator owns its random state, so use one iterator per thread.
 */
public final class DemoDataGenerator {

    /** Per-position decay of the chance to act on an impression: lower positions get fewer actions. */
    private static final double POSITION_DECAY = 0.15;
    /** Share of tag draws that come from the item category's own favourite tags rather than the whole vocabulary. */
    private static final double CATEGORY_TAG_SHARE = 0.7;
    private static final int FAVOURITE_TAGS_PER_CATEGORY = 5;

    private final Config config;
    private final String[] itemIds;
    private final String[] userIds;
    private final String[] categoryNames;
    private final String[] tagNames;
    private final int[] itemCategory;
    private final float[][] itemVectors;
    private final String[][] itemTags;
    /** Popularity rank → item index, and its inverse (so popularity is unrelated to id and category). */
    private final int[] itemByRank;
    private final double[] itemPopularity;
    private final Zipf itemZipf;
    /** Per category: its items in popularity order, sampled with the same exponent. */
    private final int[][] categoryItemsByRank;
    private final Zipf[] categoryZipf;
    private final int[] userByRank;
    private final Zipf userZipf;
    private final int[] userHomeCategory;

    public DemoDataGenerator(Config config) {
        this.config = Objects.requireNonNull(config, "config");
        SplittableRandom rng = new SplittableRandom(config.seed());
        int n = config.items();
        int k = config.categories();

        itemIds = names("i", n, 0);
        userIds = names("u", config.users(), 0);
        categoryNames = names("cat-", k, 2);
        tagNames = names("tag-", config.tagVocabulary(), 2);

        float[][] centroids = new float[k][];
        for (int c = 0; c < k; c++) {
            centroids[c] = randomUnitVector(rng, config.dimension());
        }
        // Per-component noise scaled by 1/sqrt(d) so itemNoise is the noise's expected length, whatever the dimension.
        double componentSigma = config.itemNoise() / Math.sqrt(config.dimension());
        itemCategory = new int[n];
        itemVectors = new float[n][];
        itemTags = new String[n][];
        for (int i = 0; i < n; i++) {
            int c = i % k;
            itemCategory[i] = c;
            float[] v = new float[config.dimension()];
            for (int d = 0; d < v.length; d++) {
                v[d] = (float) (centroids[c][d] + componentSigma * gaussian(rng));
            }
            itemVectors[i] = normalize(v);
            itemTags[i] = drawTags(rng, c);
        }

        itemByRank = permutation(rng, n);
        itemZipf = new Zipf(n, config.itemZipfExponent());
        itemPopularity = new double[n];
        for (int r = 0; r < n; r++) {
            itemPopularity[itemByRank[r]] = itemZipf.probability(r);
        }
        int[] categorySize = new int[k];
        for (int c : itemCategory) {
            categorySize[c]++;
        }
        categoryItemsByRank = new int[k][];
        categoryZipf = new Zipf[k];
        int[] filled = new int[k];
        for (int c = 0; c < k; c++) {
            categoryItemsByRank[c] = new int[categorySize[c]];
            categoryZipf[c] = new Zipf(categorySize[c], config.itemZipfExponent());
        }
        for (int r = 0; r < n; r++) {
            int item = itemByRank[r];
            int c = itemCategory[item];
            categoryItemsByRank[c][filled[c]++] = item;
        }

        userByRank = permutation(rng, config.users());
        userZipf = new Zipf(config.users(), config.userZipfExponent());
        userHomeCategory = new int[config.users()];
        for (int u = 0; u < userHomeCategory.length; u++) {
            userHomeCategory[u] = rng.nextInt(k);
        }
    }

    public DemoDataGenerator(long seed) {
        this(Config.builder().seed(seed).build());
    }

    public Config config() {
        return config;
    }

    /**
     * The catalogue: one ACTIVE embedding per item, in item-id order. Its event time is 1 ms before
     * {@link Config#startTime()} (synthetic time, so items exist before any action) or the wall clock now.
     * Returns fresh records on each call.
     */
    public List<ItemEmbedding> items() {
        long eventTime = config.wallClock() ? System.currentTimeMillis() : config.startTime() - 1;
        List<ItemEmbedding> result = new ArrayList<>(itemIds.length);
        for (int i = 0; i < itemIds.length; i++) {
            result.add(new ItemEmbedding(itemIds[i], config.modelVersion(), toFloatList(itemVectors[i]),
                    categoryNames[itemCategory[i]], List.of(itemTags[i]), ItemStatus.ACTIVE, eventTime));
        }
        return result;
    }

    /** Category of an item id produced by this generator (lets tests and demos check category bias). */
    public String categoryOf(String itemId) {
        return categoryNames[itemCategory[itemIndex(itemId)]];
    }

    /** Home category of a user id produced by this generator: most of the user's sessions are in it. */
    public String homeCategoryOf(String userId) {
        return categoryNames[userHomeCategory[index(userId, "u", userIds.length)]];
    }

    /**
     * Infinite, time-ordered stream of {@link Impression}s and {@link UserAction}s. Each call starts the same
     * stream afresh (same records, given synthetic time).
     */
    public Iterator<SpecificRecord> events() {
        return new EventIterator();
    }

    /** The first {@code maxEvents} records of {@link #events()}. */
    public Iterator<SpecificRecord> events(long maxEvents) {
        return limit(events(), maxEvents);
    }

    /** The first {@code maxActions} actions of {@link #events()} (the same actions, without the impressions). */
    public Iterator<UserAction> actions(long maxActions) {
        return limit(filter(events(), UserAction.class), maxActions);
    }

    /** The first {@code maxImpressions} impressions of {@link #events()}. */
    public Iterator<Impression> impressions(long maxImpressions) {
        return limit(filter(events(), Impression.class), maxImpressions);
    }

    private int itemIndex(String itemId) {
        return index(itemId, "i", itemIds.length);
    }

    private static int index(String id, String prefix, int bound) {
        if (id == null || !id.startsWith(prefix)) {
            throw new IllegalArgumentException("not an id of this generator: " + id);
        }
        int i;
        try {
            i = Integer.parseInt(id.substring(prefix.length()));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("not an id of this generator: " + id, e);
        }
        if (i < 0 || i >= bound) {
            throw new IllegalArgumentException("not an id of this generator: " + id);
        }
        return i;
    }

    private String[] drawTags(SplittableRandom rng, int category) {
        int count = rng.nextInt(config.maxTagsPerItem() + 1);
        int vocabulary = tagNames.length;
        count = Math.min(count, vocabulary);
        String[] tags = new String[count];
        int drawn = 0;
        while (drawn < count) {
            int t = rng.nextDouble() < CATEGORY_TAG_SHARE
                    ? (category * FAVOURITE_TAGS_PER_CATEGORY + rng.nextInt(FAVOURITE_TAGS_PER_CATEGORY)) % vocabulary
                    : rng.nextInt(vocabulary);
            String tag = tagNames[t];
            if (!Arrays.asList(tags).subList(0, drawn).contains(tag)) {
                tags[drawn++] = tag;
            }
        }
        return tags;
    }

    /** One concurrent session: a user making a few feed requests in one category. */
    private static final class Session {
        int user;
        int category;
        int requestsLeft;
    }

    /**
     * Generates a request at a time (its impressions, then the actions that follow) into a buffer and hands out
     * records from it, stamping each with the clock as it goes, so event time never decreases.
     */
    private final class EventIterator implements Iterator<SpecificRecord> {
        private final SplittableRandom rng = new SplittableRandom(config.seed() ^ 0x5DEECE66DL);
        private final Session[] sessions = new Session[config.concurrentSessions()];
        private final ArrayDeque<SpecificRecord> buffer = new ArrayDeque<>();
        private final int[] shown = new int[config.impressionsPerRequest()];
        private double syntheticTime = config.startTime();
        private long lastTime = Long.MIN_VALUE;
        private long actionSeq;
        private long impressionSeq;
        private long requestSeq;

        EventIterator() {
            for (int s = 0; s < sessions.length; s++) {
                sessions[s] = new Session();
                startSession(sessions[s]);
            }
        }

        @Override
        public boolean hasNext() {
            return true;
        }

        @Override
        public SpecificRecord next() {
            if (buffer.isEmpty()) {
                generateRequest();
            }
            return buffer.poll();
        }

        private void startSession(Session s) {
            s.user = userByRank[userZipf.sample(rng)];
            s.category = rng.nextDouble() < config.homeCategoryShare()
                    ? userHomeCategory[s.user] : rng.nextInt(config.categories());
            // Geometric number of requests, at least one, with the configured mean.
            double p = 1.0 / config.meanRequestsPerSession();
            s.requestsLeft = 1 + (int) Math.floor(Math.log(1 - rng.nextDouble()) / Math.log(1 - p + 1e-12));
        }

        private long tick() {
            long t;
            if (config.wallClock()) {
                t = System.currentTimeMillis();
            } else {
                syntheticTime += -Math.log(1 - rng.nextDouble()) * config.meanInterArrivalMs();
                t = (long) syntheticTime;
            }
            lastTime = Math.max(lastTime, t);
            return lastTime;
        }

        private void generateRequest() {
            Session session = sessions[rng.nextInt(sessions.length)];
            String userId = userIds[session.user];
            String requestId = "r-" + requestSeq++;
            long requestTime = tick();
            int count = drawDistinctItems(session.category);
            boolean[] fromCategory = new boolean[count];
            for (int p = 0; p < count; p++) {
                int item = shown[p];
                boolean categoryMatch = itemCategory[item] == session.category;
                fromCategory[p] = categoryMatch;
                Map<String, Double> features = new HashMap<>(4);
                features.put("itemPopularity", itemPopularity[item] * itemIds.length);
                features.put("categoryMatch", categoryMatch ? 1.0 : 0.0);
                buffer.add(new Impression("imp-" + impressionSeq++, requestId, userId, itemIds[item], p,
                        categoryMatch ? "i2i" : "u2i", config.modelVersion(), null, features, requestTime));
            }
            for (int p = 0; p < count; p++) {
                double chance = config.actProbability() / (1 + POSITION_DECAY * p) * (fromCategory[p] ? 1.5 : 0.75);
                if (rng.nextDouble() < chance) {
                    actOn(userId, itemIds[shown[p]], requestId);
                }
            }
            if (--session.requestsLeft <= 0) {
                startSession(session);
            }
        }

        /** Fills {@link #shown} with distinct items; returns how many (fewer only for a tiny catalogue). */
        private int drawDistinctItems(int category) {
            int want = Math.min(shown.length, itemIds.length);
            int count = 0;
            int attempts = 0;
            while (count < want) {
                int item = rng.nextDouble() < config.categoryBias()
                        ? categoryItemsByRank[category][categoryZipf[category].sample(rng)]
                        : itemByRank[itemZipf.sample(rng)];
                if (++attempts > 50 * want) {
                    // Heavy skew on a small catalogue: fall back to a uniform draw so this always terminates.
                    item = rng.nextInt(itemIds.length);
                }
                if (!contains(shown, count, item)) {
                    shown[count++] = item;
                }
            }
            return count;
        }

        /** The engagement funnel for one shown item; the rates give mostly VIEW/CLICK and a little of the rest. */
        private void actOn(String userId, String itemId, String requestId) {
            emit(userId, itemId, ActionType.VIEW, 1.0, requestId);
            double r = rng.nextDouble();
            if (r < 0.06) {
                emit(userId, itemId, ActionType.DISLIKE, 1.0, requestId);
                return;
            }
            if (r > 0.55) {
                return;
            }
            emit(userId, itemId, ActionType.CLICK, 1.0, requestId);
            if (rng.nextDouble() < 0.30) {
                // Watch fraction: a completion means most of the item was consumed.
                emit(userId, itemId, ActionType.COMPLETE, 0.5 + 0.5 * rng.nextDouble(), requestId);
            }
            if (rng.nextDouble() < 0.20) {
                emit(userId, itemId, ActionType.LIKE, 1.0, requestId);
            }
            if (rng.nextDouble() < 0.06) {
                emit(userId, itemId, ActionType.SHARE, 1.0, requestId);
            }
            if (rng.nextDouble() < 0.06) {
                emit(userId, itemId, ActionType.COMMENT, 1.0, requestId);
            }
            if (rng.nextDouble() < 0.04) {
                emit(userId, itemId, ActionType.PURCHASE, 1.0, requestId);
            }
            if (rng.nextDouble() < 0.05) {
                // MovieLens-style half-star rating, 0.5 .. 5.0.
                emit(userId, itemId, ActionType.RATE, 0.5 * (1 + rng.nextInt(10)), requestId);
            }
        }

        private void emit(String userId, String itemId, ActionType type, double value, String requestId) {
            buffer.add(new UserAction("a-" + actionSeq++, userId, itemId, type, value, tick(), requestId));
        }
    }

    private static boolean contains(int[] values, int length, int value) {
        for (int i = 0; i < length; i++) {
            if (values[i] == value) {
                return true;
            }
        }
        return false;
    }

    // ---- Sampling and vector helpers (shared with MovieLensReplay) ----

    /**
     * Zipf distribution over ranks 0..n-1 with P(r) ∝ 1/(r+1)^s: precomputed CDF, O(log n) per draw by binary
     * search. Immutable, so it can be shared between threads (the random source cannot).
     */
    public static final class Zipf {
        private final double[] cdf;

        public Zipf(int n, double exponent) {
            if (n <= 0) {
                throw new IllegalArgumentException("n must be positive: " + n);
            }
            if (!(exponent >= 0) || Double.isInfinite(exponent)) {
                throw new IllegalArgumentException("exponent must be finite and >= 0: " + exponent);
            }
            cdf = new double[n];
            double sum = 0;
            for (int r = 0; r < n; r++) {
                sum += Math.pow(r + 1, -exponent);
                cdf[r] = sum;
            }
            for (int r = 0; r < n; r++) {
                cdf[r] /= sum;
            }
            cdf[n - 1] = 1.0; // guard against rounding leaving the last bucket unreachable
        }

        public int size() {
            return cdf.length;
        }

        public double probability(int rank) {
            return rank == 0 ? cdf[0] : cdf[rank] - cdf[rank - 1];
        }

        public int sample(SplittableRandom rng) {
            int i = Arrays.binarySearch(cdf, rng.nextDouble());
            // Not found gives -(insertion point) - 1: the first rank whose cumulative probability exceeds u.
            return i >= 0 ? Math.min(i + 1, cdf.length - 1) : -i - 1;
        }
    }

    /**
     * Standard normal draw by Box–Muller over {@link SplittableRandom#nextDouble()}, whose sequence is fixed by its
     * specification, so vectors stay identical across JDK versions (unlike RandomGenerator's default nextGaussian).
     */
    static double gaussian(SplittableRandom rng) {
        double u1 = 1.0 - rng.nextDouble(); // (0, 1], keeps log finite
        double u2 = rng.nextDouble();
        return Math.sqrt(-2.0 * Math.log(u1)) * Math.cos(2.0 * Math.PI * u2);
    }

    static float[] randomUnitVector(SplittableRandom rng, int dimension) {
        float[] v = new float[dimension];
        for (int d = 0; d < dimension; d++) {
            v[d] = (float) gaussian(rng);
        }
        return normalize(v);
    }

    /** Scales in place to unit L2 length (computed in double); a zero vector is left as is. */
    static float[] normalize(float[] v) {
        double sumSquares = 0;
        for (float x : v) {
            sumSquares += (double) x * x;
        }
        if (sumSquares > 0) {
            double scale = 1.0 / Math.sqrt(sumSquares);
            for (int d = 0; d < v.length; d++) {
                v[d] = (float) (v[d] * scale);
            }
        }
        return v;
    }

    static List<Float> toFloatList(float[] v) {
        List<Float> list = new ArrayList<>(v.length);
        for (float x : v) {
            list.add(x);
        }
        return list;
    }

    private static String[] names(String prefix, int count, int minDigits) {
        String[] result = new String[count];
        String format = minDigits > 0 ? "%0" + minDigits + "d" : "%d";
        for (int i = 0; i < count; i++) {
            result[i] = prefix + String.format(format, i);
        }
        return result;
    }

    private static int[] permutation(SplittableRandom rng, int n) {
        int[] p = new int[n];
        for (int i = 0; i < n; i++) {
            p[i] = i;
        }
        for (int i = n - 1; i > 0; i--) {
            int j = rng.nextInt(i + 1);
            int t = p[i];
            p[i] = p[j];
            p[j] = t;
        }
        return p;
    }

    private static <T> Iterator<T> limit(Iterator<T> source, long max) {
        if (max < 0) {
            throw new IllegalArgumentException("limit must be >= 0: " + max);
        }
        return new Iterator<>() {
            private long remaining = max;

            @Override
            public boolean hasNext() {
                return remaining > 0 && source.hasNext();
            }

            @Override
            public T next() {
                if (!hasNext()) {
                    throw new NoSuchElementException();
                }
                remaining--;
                return source.next();
            }
        };
    }

    private static <T> Iterator<T> filter(Iterator<SpecificRecord> source, Class<T> type) {
        return new Iterator<>() {
            @Override
            public boolean hasNext() {
                return true; // the source is infinite
            }

            @Override
            public T next() {
                SpecificRecord r;
                do {
                    r = source.next();
                } while (!type.isInstance(r));
                return type.cast(r);
            }
        };
    }

    /**
     * Generator parameters; {@link #builder()} starts from the defaults.
     *
     * @param seed                   fixes the catalogue and, with synthetic time, every event
     * @param users                  number of users ({@code u0..})
     * @param items                  number of items ({@code i0..})
     * @param categories             number of item clusters / categories
     * @param dimension              embedding dimension
     * @param modelVersion           model version on embeddings and impressions
     * @param maxTagsPerItem         each item gets 0..this many distinct tags (uniform)
     * @param tagVocabulary          number of distinct tags
     * @param itemNoise              expected length of an item's offset from its unit centroid, before normalizing
     * @param itemZipfExponent       skew of item popularity
     * @param userZipfExponent       skew of user activity (how often a user starts a session)
     * @param meanRequestsPerSession mean of the geometric number of feed requests per session (>= 1)
     * @param concurrentSessions     sessions interleaved in the stream at any time
     * @param impressionsPerRequest  items shown per feed request (positions 0..n-1)
     * @param categoryBias           chance that a shown item is drawn from the session's category
     * @param homeCategoryShare      chance that a session is in the user's home category
     * @param actProbability         chance to act on a top-position impression (before position and match effects)
     * @param startTime              synthetic time of the first event, epoch ms
     * @param meanInterArrivalMs     mean synthetic time between consecutive feed requests or actions (a request's
     *                               impressions share its time)
     * @param wallClock              stamp events with the wall clock instead of synthetic time
     */
    public record Config(
            long seed,
            int users,
            int items,
            int categories,
            int dimension,
            String modelVersion,
            int maxTagsPerItem,
            int tagVocabulary,
            double itemNoise,
            double itemZipfExponent,
            double userZipfExponent,
            double meanRequestsPerSession,
            int concurrentSessions,
            int impressionsPerRequest,
            double categoryBias,
            double homeCategoryShare,
            double actProbability,
            long startTime,
            double meanInterArrivalMs,
            boolean wallClock) {

        /** 2024-01-01T00:00:00Z: a fixed origin so synthetic runs are reproducible. */
        public static final long DEFAULT_START_TIME = 1_704_067_200_000L;

        public Config {
            Objects.requireNonNull(modelVersion, "modelVersion");
            positive("users", users);
            positive("items", items);
            positive("categories", categories);
            positive("dimension", dimension);
            positive("tagVocabulary", tagVocabulary);
            positive("concurrentSessions", concurrentSessions);
            positive("impressionsPerRequest", impressionsPerRequest);
            if (categories > items) {
                throw new IllegalArgumentException("categories (" + categories + ") must not exceed items (" + items + ")");
            }
            if (maxTagsPerItem < 0) {
                throw new IllegalArgumentException("maxTagsPerItem must be >= 0: " + maxTagsPerItem);
            }
            if (!(itemNoise >= 0) || Double.isInfinite(itemNoise)) {
                throw new IllegalArgumentException("itemNoise must be finite and >= 0: " + itemNoise);
            }
            if (!(meanRequestsPerSession >= 1) || Double.isInfinite(meanRequestsPerSession)) {
                throw new IllegalArgumentException("meanRequestsPerSession must be finite and >= 1: " + meanRequestsPerSession);
            }
            probability("categoryBias", categoryBias);
            probability("homeCategoryShare", homeCategoryShare);
            probability("actProbability", actProbability);
            if (!(meanInterArrivalMs >= 0) || Double.isInfinite(meanInterArrivalMs)) {
                throw new IllegalArgumentException("meanInterArrivalMs must be finite and >= 0: " + meanInterArrivalMs);
            }
            // Zipf exponents are checked by Zipf itself.
        }

        public static Builder builder() {
            return new Builder();
        }

        public static Config defaults() {
            return builder().build();
        }

        /** A builder holding this config's values, to derive a variant. */
        public Builder toBuilder() {
            return new Builder(this);
        }

        private static void positive(String name, int value) {
            if (value <= 0) {
                throw new IllegalArgumentException(name + " must be positive: " + value);
            }
        }

        private static void probability(String name, double value) {
            if (!(value >= 0 && value <= 1)) {
                throw new IllegalArgumentException(name + " must be in [0, 1]: " + value);
            }
        }

        public static final class Builder {
            private long seed = 42;
            private int users = 10_000;
            private int items = 5_000;
            private int categories = 20;
            private int dimension = 64;
            private String modelVersion = "v1";
            private int maxTagsPerItem = 3;
            private int tagVocabulary = 50;
            private double itemNoise = 0.3;
            private double itemZipfExponent = 1.1;
            private double userZipfExponent = 0.8;
            private double meanRequestsPerSession = 3.0;
            private int concurrentSessions = 64;
            private int impressionsPerRequest = 10;
            private double categoryBias = 0.6;
            private double homeCategoryShare = 0.7;
            private double actProbability = 0.35;
            private long startTime = DEFAULT_START_TIME;
            private double meanInterArrivalMs = 20.0;
            private boolean wallClock = false;

            private Builder() {
            }

            private Builder(Config c) {
                seed = c.seed;
                users = c.users;
                items = c.items;
                categories = c.categories;
                dimension = c.dimension;
                modelVersion = c.modelVersion;
                maxTagsPerItem = c.maxTagsPerItem;
                tagVocabulary = c.tagVocabulary;
                itemNoise = c.itemNoise;
                itemZipfExponent = c.itemZipfExponent;
                userZipfExponent = c.userZipfExponent;
                meanRequestsPerSession = c.meanRequestsPerSession;
                concurrentSessions = c.concurrentSessions;
                impressionsPerRequest = c.impressionsPerRequest;
                categoryBias = c.categoryBias;
                homeCategoryShare = c.homeCategoryShare;
                actProbability = c.actProbability;
                startTime = c.startTime;
                meanInterArrivalMs = c.meanInterArrivalMs;
                wallClock = c.wallClock;
            }

            public Builder seed(long v) { seed = v; return this; }
            public Builder users(int v) { users = v; return this; }
            public Builder items(int v) { items = v; return this; }
            public Builder categories(int v) { categories = v; return this; }
            public Builder dimension(int v) { dimension = v; return this; }
            public Builder modelVersion(String v) { modelVersion = v; return this; }
            public Builder maxTagsPerItem(int v) { maxTagsPerItem = v; return this; }
            public Builder tagVocabulary(int v) { tagVocabulary = v; return this; }
            public Builder itemNoise(double v) { itemNoise = v; return this; }
            public Builder itemZipfExponent(double v) { itemZipfExponent = v; return this; }
            public Builder userZipfExponent(double v) { userZipfExponent = v; return this; }
            public Builder meanRequestsPerSession(double v) { meanRequestsPerSession = v; return this; }
            public Builder concurrentSessions(int v) { concurrentSessions = v; return this; }
            public Builder impressionsPerRequest(int v) { impressionsPerRequest = v; return this; }
            public Builder categoryBias(double v) { categoryBias = v; return this; }
            public Builder homeCategoryShare(double v) { homeCategoryShare = v; return this; }
            public Builder actProbability(double v) { actProbability = v; return this; }
            public Builder startTime(long v) { startTime = v; return this; }
            public Builder meanInterArrivalMs(double v) { meanInterArrivalMs = v; return this; }
            public Builder wallClock(boolean v) { wallClock = v; return this; }

            public Config build() {
                return new Config(seed, users, items, categories, dimension, modelVersion, maxTagsPerItem,
                        tagVocabulary, itemNoise, itemZipfExponent, userZipfExponent, meanRequestsPerSession,
                        concurrentSessions, impressionsPerRequest, categoryBias, homeCategoryShare, actProbability,
                        startTime, meanInterArrivalMs, wallClock);
            }
        }
    }
}
