package dev.streamrec.cluster;

import java.util.Iterator;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import org.apache.avro.specific.SpecificRecord;
import org.apache.avro.specific.SpecificRecordBase;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;

import com.google.common.util.concurrent.RateLimiter;

import dev.streamrec.avro.Impression;
import dev.streamrec.avro.ItemEmbedding;
import dev.streamrec.avro.UserAction;
import dev.streamrec.local.demo.DemoDataGenerator;
import dev.streamrec.schemas.Topic;
import dev.streamrec.testkit.KafkaTestIO;

/**
 * Steady input for the cluster tests and benchmark: the demo generator's items once, then its users' actions and the
 * impressions of their feed requests at a fixed rate, each stamped with the wall clock when sent, until closed. A record counts as
 * sent only once the broker acknowledged it (idempotent producer: a retry is not a second record); {@link Sent}, the
 * acknowledged actions per user, must all be in the input topic {@link PipelineChecker} compares the outputs with.
 */
public final class SteadyFeed implements AutoCloseable {
    private final String bootstrap;
    private final String topicPrefix;
    private final DemoDataGenerator generator;
    private final double eventsPerSecond;
    private final Map<String, Integer> actionsPerUser = new ConcurrentHashMap<>();
    private final AtomicLong inFlight = new AtomicLong();
    private final AtomicReference<Exception> failure = new AtomicReference<>();
    private volatile boolean running = true;
    private volatile boolean paused;
    private final Thread thread;

    /** What the broker acknowledged: the actions sent per user. */
    public record Sent(Map<String, Integer> actionsPerUser) {
        public long actions() {
            return actionsPerUser.values().stream().mapToLong(Integer::longValue).sum();
        }
    }

    private SteadyFeed(String bootstrap, String topicPrefix, DemoDataGenerator generator, double eventsPerSecond) {
        this.bootstrap = bootstrap;
        this.topicPrefix = topicPrefix;
        this.generator = generator;
        this.eventsPerSecond = eventsPerSecond;
        this.thread = new Thread(this::produce, "steady-feed");
        this.thread.setDaemon(true);
    }

    /** Starts feeding at {@code eventsPerSecond} (actions plus impressions) after the items are sent. */
    public static SteadyFeed start(String bootstrap, String topicPrefix, DemoDataGenerator.Config config, double eventsPerSecond) {
        SteadyFeed feed = new SteadyFeed(bootstrap, topicPrefix, new DemoDataGenerator(config.toBuilder().wallClock(true).build()),
                eventsPerSecond);
        feed.thread.start();
        return feed;
    }

    /** Holds new events back (the items are sent regardless) until {@link #resume()}; returns once all sent are acknowledged. */
    public void pause() throws InterruptedException {
        paused = true;
        awaitAcknowledged();
    }

    public void resume() {
        paused = false;
    }

    /** A copy of what was sent and acknowledged so far (waits for what is in flight first). */
    public Sent sent() throws InterruptedException {
        awaitAcknowledged();
        return new Sent(Map.copyOf(actionsPerUser));
    }

    private void awaitAcknowledged() throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(2);
        while (inFlight.get() > 0 && failure.get() == null) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException(inFlight.get() + " records not acknowledged by the broker within 2 minutes");
            }
            Thread.sleep(10);
        }
        throwIfFailed();
    }

    private void throwIfFailed() {
        if (failure.get() != null) {
            throw new IllegalStateException("the feed failed", failure.get());
        }
    }

    private void produce() {
        try (KafkaProducer<String, byte[]> producer = KafkaTestIO.producer(bootstrap)) {
            for (ItemEmbedding item : generator.items()) {
                send(producer, Topic.ITEM_EMBEDDINGS, item.getItemId(), item, () -> { });
            }
            producer.flush();
            RateLimiter limiter = RateLimiter.create(eventsPerSecond);
            Iterator<SpecificRecord> events = generator.events();
            while (running && failure.get() == null) {
                if (paused) {
                    producer.flush();
                    Thread.sleep(20);
                    continue;
                }
                SpecificRecord event = events.next();
                limiter.acquire();
                // Stamped when sent: the generator stamps a feed request's impressions and actions together, so ones
                // held back by a pause would arrive behind the watermark (late events to dead letters).
                long now = System.currentTimeMillis();
                if (event instanceof UserAction a) {
                    a.setEventTime(now);
                    send(producer, Topic.USER_ACTIONS, a.getUserId(), a, () -> actionsPerUser.merge(a.getUserId(), 1, Integer::sum));
                } else if (event instanceof Impression i) {
                    i.setEventTime(now);
                    send(producer, Topic.IMPRESSIONS, i.getUserId(), i, () -> { });
                }
            }
            producer.flush();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (Exception e) {
            failure.compareAndSet(null, e);
        }
    }

    private <T extends SpecificRecordBase> void send(KafkaProducer<String, byte[]> producer, Topic topic, String key, T value,
                                                     Runnable acknowledged) {
        inFlight.incrementAndGet();
        producer.send(new ProducerRecord<>(topic.name(topicPrefix), key, KafkaTestIO.encode(value)), (metadata, e) -> {
            if (e != null) {
                failure.compareAndSet(null, e);
            } else {
                acknowledged.run();
            }
            inFlight.decrementAndGet();
        });
    }

    @Override
    public void close() throws InterruptedException {
        running = false;
        thread.join(TimeUnit.MINUTES.toMillis(1));
        throwIfFailed();
    }
}
