package dev.streamrec.local.demo;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.offset;

import dev.streamrec.avro.ActionType;
import dev.streamrec.avro.Impression;
import dev.streamrec.avro.ItemEmbedding;
import dev.streamrec.avro.ItemStatus;
import dev.streamrec.avro.UserAction;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import org.apache.avro.specific.SpecificRecord;
import org.junit.jupiter.api.Test;

class DemoDataGeneratorTest {

    /** A smaller catalogue keeps the tests quick; the traffic model is the same. */
    private static final DemoDataGenerator.Config SMALL = DemoDataGenerator.Config.builder()
            .seed(7).users(2_000).items(1_000).categories(10).build();

    private static long eventTime(SpecificRecord r) {
        return r instanceof UserAction a ? a.getEventTime() : ((Impression) r).getEventTime();
    }

    private static List<SpecificRecord> take(Iterator<SpecificRecord> it) {
        List<SpecificRecord> out = new ArrayList<>();
        it.forEachRemaining(out::add);
        return out;
    }

    private static double norm(List<Float> v) {
        double s = 0;
        for (float x : v) {
            s += (double) x * x;
        }
        return Math.sqrt(s);
    }

    private static double dot(List<Float> a, List<Float> b) {
        double s = 0;
        for (int i = 0; i < a.size(); i++) {
            s += (double) a.get(i) * b.get(i);
        }
        return s;
    }

    @Test
    void sameSeedGivesSameCatalogueAndEvents() {
        DemoDataGenerator a = new DemoDataGenerator(SMALL);
        DemoDataGenerator b = new DemoDataGenerator(SMALL);
        assertThat(a.items()).isEqualTo(b.items());
        Iterator<SpecificRecord> ea = a.events(50_000);
        Iterator<SpecificRecord> eb = b.events(50_000);
        while (ea.hasNext()) {
            assertThat(ea.next()).isEqualTo(eb.next());
        }
        assertThat(eb.hasNext()).isFalse();
        // A second iterator of the same generator replays the same stream.
        assertThat(take(a.events(1_000))).isEqualTo(take(b.events(1_000)));
    }

    @Test
    void differentSeedGivesDifferentData() {
        DemoDataGenerator a = new DemoDataGenerator(SMALL);
        DemoDataGenerator b = new DemoDataGenerator(SMALL.toBuilder().seed(8).build());
        assertThat(a.items().get(0).getVector()).isNotEqualTo(b.items().get(0).getVector());
        assertThat(take(a.events(100))).isNotEqualTo(take(b.events(100)));
    }

    @Test
    void eventTimeNeverDecreasesAndStartsAfterTheCatalogue() {
        DemoDataGenerator g = new DemoDataGenerator(SMALL);
        long catalogueTime = g.items().get(0).getEventTime();
        long previous = Long.MIN_VALUE;
        Iterator<SpecificRecord> it = g.events(200_000);
        long first = -1;
        int ticks = 0; // requests and actions: the events that advance the clock
        while (it.hasNext()) {
            SpecificRecord r = it.next();
            if (r instanceof UserAction || ((Impression) r).getPosition() == 0) {
                ticks++;
            }
            long t = eventTime(r);
            if (first < 0) {
                first = t;
            }
            assertThat(t).isGreaterThanOrEqualTo(previous);
            previous = t;
        }
        assertThat(first).isGreaterThan(catalogueTime).isGreaterThanOrEqualTo(SMALL.startTime());
        // Mean spacing of requests and actions is the configured inter-arrival (20 ms), give or take.
        double meanGap = (previous - first) / (double) ticks;
        assertThat(meanGap).isBetween(15.0, 25.0);
    }

    @Test
    void catalogueVectorsAreUnitFiniteAndClusteredByCategory() {
        DemoDataGenerator g = new DemoDataGenerator(DemoDataGenerator.Config.defaults());
        List<ItemEmbedding> items = g.items();
        assertThat(items).hasSize(5_000);
        Set<String> ids = new HashSet<>();
        Map<String, List<ItemEmbedding>> byCategory = new HashMap<>();
        for (ItemEmbedding e : items) {
            assertThat(ids.add(e.getItemId())).isTrue();
            assertThat(e.getStatus()).isEqualTo(ItemStatus.ACTIVE);
            assertThat(e.getModelVersion()).isEqualTo("v1");
            assertThat(e.getVector()).hasSize(64).allMatch(x -> Float.isFinite(x));
            assertThat(norm(e.getVector())).isCloseTo(1.0, offset(1e-5));
            assertThat(e.getCategory()).isEqualTo(g.categoryOf(e.getItemId()));
            assertThat(e.getTags()).hasSizeLessThanOrEqualTo(3).doesNotHaveDuplicates();
            byCategory.computeIfAbsent(e.getCategory(), k -> new ArrayList<>()).add(e);
        }
        assertThat(byCategory).hasSize(20);
        assertThat(items.stream().flatMap(e -> e.getTags().stream()).distinct().count()).isBetween(40L, 50L);

        // Items of one category are much closer to each other than to other categories' items.
        List<ItemEmbedding> c0 = byCategory.get("cat-00");
        List<ItemEmbedding> c1 = byCategory.get("cat-01");
        double same = 0;
        double other = 0;
        int pairs = 0;
        for (int i = 0; i < 50; i++) {
            same += dot(c0.get(i).getVector(), c0.get(i + 50).getVector());
            other += dot(c0.get(i).getVector(), c1.get(i).getVector());
            pairs++;
        }
        assertThat(same / pairs).isGreaterThan(0.8);
        assertThat(Math.abs(other / pairs)).isLessThan(0.3);
    }

    @Test
    void idsAreUniqueAndEveryActionFollowsAnImpressionOfItsRequest() {
        DemoDataGenerator g = new DemoDataGenerator(SMALL);
        Set<String> eventIds = new HashSet<>();
        Set<String> impressionIds = new HashSet<>();
        Set<String> shown = new HashSet<>(); // requestId|userId|itemId
        Map<String, Set<Integer>> positions = new HashMap<>();
        Map<String, Long> requestTime = new HashMap<>();
        int actions = 0;
        Iterator<SpecificRecord> it = g.events(300_000);
        while (it.hasNext()) {
            SpecificRecord r = it.next();
            if (r instanceof Impression imp) {
                assertThat(impressionIds.add(imp.getImpressionId())).isTrue();
                assertThat(shown.add(imp.getRequestId() + "|" + imp.getUserId() + "|" + imp.getItemId()))
                        .as("items in one request are distinct").isTrue();
                assertThat(positions.computeIfAbsent(imp.getRequestId(), k -> new HashSet<>()).add(imp.getPosition()))
                        .isTrue();
                Long t = requestTime.putIfAbsent(imp.getRequestId(), imp.getEventTime());
                assertThat(t == null || t == imp.getEventTime()).as("one time per request").isTrue();
                assertThat(imp.getRecallChannel()).isIn("u2i", "i2i");
                assertThat(imp.getModelVersion()).isEqualTo("v1");
                assertThat(imp.getFeatures()).containsKeys("itemPopularity", "categoryMatch");
                assertThat(imp.getRecallChannel().equals("i2i"))
                        .isEqualTo(imp.getFeatures().get("categoryMatch") == 1.0);
            } else {
                UserAction a = (UserAction) r;
                actions++;
                assertThat(eventIds.add(a.getEventId())).isTrue();
                assertThat(a.getEventId()).startsWith("a-");
                assertThat(a.getRequestId()).isNotNull();
                // Plain Set.contains: AssertJ's contains scans the whole set.
                assertThat(shown.contains(a.getRequestId() + "|" + a.getUserId() + "|" + a.getItemId()))
                        .as("impression before action %s", a).isTrue();
            }
        }
        assertThat(actions).isGreaterThan(30_000);
        Set<Integer> allPositions = Set.of(0, 1, 2, 3, 4, 5, 6, 7, 8, 9);
        // The last request may be cut off by the limit.
        assertThat(positions.values().stream().filter(p -> !p.equals(allPositions)).count()).isLessThanOrEqualTo(1);
    }

    @Test
    void actionMixIsMostlyViewsAndClicksWithValidValues() {
        DemoDataGenerator g = new DemoDataGenerator(SMALL);
        Map<ActionType, Integer> counts = new EnumMap<>(ActionType.class);
        Iterator<UserAction> it = g.actions(200_000);
        while (it.hasNext()) {
            UserAction a = it.next();
            counts.merge(a.getAction(), 1, Integer::sum);
            switch (a.getAction()) {
                case RATE -> assertThat(a.getValue() * 2).isBetween(1.0, 10.0)
                        .isEqualTo(Math.rint(a.getValue() * 2));
                case COMPLETE -> assertThat(a.getValue()).isBetween(0.5, 1.0);
                default -> assertThat(a.getValue()).isEqualTo(1.0);
            }
        }
        System.out.println("action mix over 200k actions: " + counts);
        assertThat(counts).doesNotContainKey(ActionType.UNKNOWN);
        assertThat(counts.keySet()).hasSize(ActionType.values().length - 1);
        int viewsAndClicks = counts.get(ActionType.VIEW) + counts.get(ActionType.CLICK);
        assertThat(viewsAndClicks).isGreaterThan(120_000);
        assertThat(counts.get(ActionType.VIEW)).isGreaterThan(counts.get(ActionType.CLICK));
        assertThat(counts.get(ActionType.DISLIKE)).isLessThan(counts.get(ActionType.LIKE));
        assertThat(counts.get(ActionType.RATE)).isLessThan(counts.get(ActionType.LIKE));
    }

    @Test
    void popularityIsSkewedAndSessionsFavourTheirCategory() {
        DemoDataGenerator g = new DemoDataGenerator(DemoDataGenerator.Config.defaults());
        Map<String, Integer> perItem = new HashMap<>();
        Map<String, Integer> perUser = new HashMap<>();
        int total = 0;
        int inHomeCategory = 0;
        Iterator<UserAction> it = g.actions(300_000);
        while (it.hasNext()) {
            UserAction a = it.next();
            perItem.merge(a.getItemId(), 1, Integer::sum);
            perUser.merge(a.getUserId(), 1, Integer::sum);
            if (g.categoryOf(a.getItemId()).equals(g.homeCategoryOf(a.getUserId()))) {
                inHomeCategory++;
            }
            total++;
        }
        double topItems = topShare(perItem, 5_000 / 100, total);
        double topUsers = topShare(perUser, 10_000 / 100, total);
        System.out.printf("top 1%% of items get %.1f%% of actions, top 1%% of users %.1f%%, home category %.1f%%%n",
                100 * topItems, 100 * topUsers, 100.0 * inHomeCategory / total);
        assertThat(topItems).isGreaterThan(0.15);
        assertThat(topUsers).isGreaterThan(0.05);
        // Uniform choice would put 1 in 20 actions in the user's home category.
        assertThat((double) inHomeCategory / total).isGreaterThan(0.3);
    }

    private static double topShare(Map<String, Integer> counts, int top, int total) {
        return counts.values().stream().sorted((x, y) -> y - x).limit(top).mapToInt(Integer::intValue).sum()
                / (double) total;
    }

    @Test
    void zipfSamplerMatchesItsProbabilities() {
        DemoDataGenerator.Zipf zipf = new DemoDataGenerator.Zipf(100, 1.1);
        double sum = 0;
        for (int r = 0; r < zipf.size(); r++) {
            sum += zipf.probability(r);
        }
        assertThat(sum).isCloseTo(1.0, offset(1e-9));
        int[] counts = new int[100];
        SplittableRandom rng = new SplittableRandom(1);
        int draws = 1_000_000;
        for (int i = 0; i < draws; i++) {
            counts[zipf.sample(rng)]++;
        }
        for (int r : new int[] {0, 1, 9, 99}) {
            double expected = zipf.probability(r) * draws;
            assertThat((double) counts[r]).isCloseTo(expected, offset(5 * Math.sqrt(expected) + 1));
        }
        // Exponent 0 is uniform; a single rank always wins.
        assertThat(new DemoDataGenerator.Zipf(4, 0).probability(3)).isCloseTo(0.25, offset(1e-12));
        assertThat(new DemoDataGenerator.Zipf(1, 2).sample(rng)).isZero();
    }

    @Test
    void wallClockModeStampsCurrentTime() {
        DemoDataGenerator g = new DemoDataGenerator(SMALL.toBuilder().wallClock(true).build());
        long before = System.currentTimeMillis();
        List<SpecificRecord> events = take(g.events(10_000));
        long after = System.currentTimeMillis();
        assertThat(events).allMatch(e -> eventTime(e) >= before && eventTime(e) <= after);
        assertThat(g.items().get(0).getEventTime()).isGreaterThanOrEqualTo(before);
    }

    @Test
    void boundedIteratorsStopAndConfigIsValidated() {
        DemoDataGenerator g = new DemoDataGenerator(SMALL);
        assertThat(take(g.events(5))).hasSize(5);
        Iterator<Impression> impressions = g.impressions(3);
        for (int i = 0; i < 3; i++) {
            assertThat(impressions.next().getPosition()).isEqualTo(i);
        }
        assertThat(impressions.hasNext()).isFalse();
        assertThatThrownBy(impressions::next).isInstanceOf(java.util.NoSuchElementException.class);
        assertThatThrownBy(() -> SMALL.toBuilder().categoryBias(1.5).build()).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> SMALL.toBuilder().items(5).categories(10).build()).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> g.categoryOf("x1")).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void tinyCatalogueStillWorks() {
        DemoDataGenerator g = new DemoDataGenerator(DemoDataGenerator.Config.builder()
                .users(3).items(4).categories(2).impressionsPerRequest(10).itemZipfExponent(3).build());
        List<SpecificRecord> events = take(g.events(1_000));
        assertThat(events).hasSize(1_000);
        assertThat(events).filteredOn(Impression.class::isInstance)
                .allMatch(e -> ((Impression) e).getPosition() < 4);
    }

    @Test
    void measuresThroughput() {
        DemoDataGenerator g = new DemoDataGenerator(DemoDataGenerator.Config.defaults());
        take(g.events(200_000)); // warm-up
        int n = 2_000_000;
        long checksum = 0;
        long start = System.nanoTime();
        Iterator<SpecificRecord> it = g.events(n);
        while (it.hasNext()) {
            checksum += eventTime(it.next()) & 1;
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        System.out.printf("DemoDataGenerator: %,d events in %.2f s = %,.0f events/s (checksum %d)%n",
                n, seconds, n / seconds, checksum);
    }
}
