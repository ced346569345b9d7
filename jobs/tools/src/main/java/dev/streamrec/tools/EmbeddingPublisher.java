package dev.streamrec.tools;

import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.LongPredicate;

import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.serialization.ByteArraySerializer;

import dev.streamrec.avro.ItemEmbedding;
import dev.streamrec.avro.ItemStatus;
import dev.streamrec.avro.ModelPhase;
import dev.streamrec.avro.ModelVersion;
import dev.streamrec.schemas.AvroSingleObjectSerde;

/**
 * Publishes a validated embedding file under a model version by the rollover protocol: {@code LOADING} (dimension and
 * expected count) on model-versions, the items (ACTIVE, keyed by item id) on item-embeddings, a wait until the index
 * holds them, then {@code SERVING} (with the dimension again). Or publishes deletes. Prints its progress.
 *
 * <p>Every record of one run carries the run's wall-clock time as event time: the jobs keep an item's newest vector
 * per version by event time and drop a delete's older vectors, so a later run replaces an earlier one.
 */
public final class EmbeddingPublisher implements AutoCloseable {
    /** What the run should do beyond sending. */
    public record Settings(Duration waitTimeout, Duration controlTimeout, Duration progressInterval, Duration pollInterval) {}

    /** What a publish did and how long each part took. */
    public record Report(String version, int items, int dimension, long publishMillis, long absorbMillis,
                         long absorbedItems, boolean served) {}

    private static final AvroSingleObjectSerde<ItemEmbedding> ITEMS = AvroSingleObjectSerde.of(ItemEmbedding.class);
    private static final AvroSingleObjectSerde<ModelVersion> VERSIONS = AvroSingleObjectSerde.of(ModelVersion.class);

    private final Producer<byte[], byte[]> producer;
    private final String versionsTopic;
    private final String itemsTopic;
    private final IndexItemCount index;
    private final JobsReadControl readers;
    private final Settings settings;
    private final PrintStream out;

    /**
     * @param index   where the index's count is read; null to send without waiting (and so never serve)
     * @param readers whose reading of LOADING is awaited before the items; null not to wait
     */
    public EmbeddingPublisher(Properties clientProperties, String versionsTopic, String itemsTopic, IndexItemCount index,
                              JobsReadControl readers, Settings settings, PrintStream out) {
        this.producer = new KafkaProducer<>(producerProperties(clientProperties), new ByteArraySerializer(), new ByteArraySerializer());
        this.versionsTopic = versionsTopic;
        this.itemsTopic = itemsTopic;
        this.index = index;
        this.readers = readers;
        this.settings = settings;
        this.out = out;
    }

    /** Durable, ordered, idempotent writes; the user's properties override these defaults. */
    static Properties producerProperties(Properties clientProperties) {
        Properties p = new Properties();
        p.setProperty(ProducerConfig.ACKS_CONFIG, "all");
        p.setProperty(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
        p.setProperty(ProducerConfig.LINGER_MS_CONFIG, "20");
        p.setProperty(ProducerConfig.COMPRESSION_TYPE_CONFIG, "lz4");
        p.setProperty(ProducerConfig.MAX_BLOCK_MS_CONFIG, "30000");
        p.putAll(clientProperties);
        return p;
    }

    /** LOADING, the items, the wait, and SERVING unless {@code serve} is false or there is no index to wait on. */
    public Report publish(String version, EmbeddingFile file, boolean serve) throws Exception {
        List<EmbeddingFile.Embedding> items = file.embeddings();
        int dimension = file.dimension();
        long before = index == null ? 0 : readCountOrFail(version);
        if (before > 0) {
            out.println("note: " + index.describe() + " already hold " + before + " items of " + version
                    + "; the wait ends when they hold exactly the file's " + items.size());
        }
        long runTime = System.currentTimeMillis();
        RecordMetadata loading = sendControl(version, ModelPhase.LOADING, items.size(), dimension, runTime);
        out.printf("%s LOADING (dimension %d, %d expected items) -> %s[%d]@%d%n", version, dimension, items.size(),
                loading.topic(), loading.partition(), loading.offset());
        if (readers != null) {
            readers.await(loading, settings.controlTimeout(), out);
        }

        long sendStart = System.nanoTime();
        sendAll(items.size(), i -> item(items.get(i), version, runTime));
        long publishMillis = (System.nanoTime() - sendStart) / 1_000_000;
        out.printf("sent %d items to %s in %.1f s (%s items/s)%n", items.size(), itemsTopic, publishMillis / 1e3,
                rate(items.size(), publishMillis));
        if (index == null) {
            out.println("not waiting for the index (--no-wait): " + version + " stays LOADING");
            return new Report(version, items.size(), dimension, publishMillis, -1, -1, false);
        }

        long absorbed = awaitCount(version, n -> n == items.size(), "exactly " + items.size(), sendStart);
        long absorbMillis = (System.nanoTime() - sendStart) / 1_000_000;
        out.printf("absorbed: %s hold %d items of %s, %.1f s after the first item was sent (%s items/s)%n",
                index.describe(), absorbed, version, absorbMillis / 1e3, rate(items.size(), absorbMillis));
        if (!serve) {
            out.println("not serving (--no-serve): " + version + " stays LOADING");
            return new Report(version, items.size(), dimension, publishMillis, absorbMillis, absorbed, false);
        }
        RecordMetadata serving = sendControl(version, ModelPhase.SERVING, items.size(), dimension,
                Math.max(System.currentTimeMillis(), runTime + 1));
        out.printf("%s SERVING -> %s[%d]@%d%n", version, serving.topic(), serving.partition(), serving.offset());
        return new Report(version, items.size(), dimension, publishMillis, absorbMillis, absorbed, true);
    }

    /**
     * Publishes a DELETED record for each id (the index drops the item from every version). With an index to wait on,
     * waits until the version's count is at most {@code expectedRemaining}, or, when that is null, until it dropped by
     * the number of ids (which holds when every id was an item of the version).
     */
    public Report delete(String version, List<String> ids, Long expectedRemaining) throws Exception {
        long before = index == null ? 0 : readCountOrFail(version);
        long runTime = System.currentTimeMillis();
        long sendStart = System.nanoTime();
        sendAll(ids.size(), i -> deleted(ids.get(i), version, runTime));
        long publishMillis = (System.nanoTime() - sendStart) / 1_000_000;
        out.printf("sent %d deletes to %s in %.1f s (%s items/s)%n", ids.size(), itemsTopic, publishMillis / 1e3,
                rate(ids.size(), publishMillis));
        if (index == null) {
            return new Report(version, ids.size(), -1, publishMillis, -1, -1, false);
        }
        long target = expectedRemaining != null ? expectedRemaining : Math.max(0, before - ids.size());
        long remaining = awaitCount(version, n -> n <= target, "at most " + target + " (before: " + before + ")", sendStart);
        long absorbMillis = (System.nanoTime() - sendStart) / 1_000_000;
        out.printf("absorbed: %s hold %d items of %s (%d before), %.1f s after the first delete was sent (%s deletes/s)%n",
                index.describe(), remaining, version, before, absorbMillis / 1e3, rate(ids.size(), absorbMillis));
        return new Report(version, ids.size(), -1, publishMillis, absorbMillis, remaining, false);
    }

    private long readCountOrFail(String version) {
        try {
            return index.items(version);
        } catch (Exception e) {
            throw UserError.failed("cannot read the index's item count from " + index.describe() + ": " + e.getMessage()
                    + " (nothing sent; --no-wait publishes without waiting)");
        }
    }

    private RecordMetadata sendControl(String version, ModelPhase phase, long expected, int dimension, long eventTime)
            throws Exception {
        ModelVersion record = ModelVersion.newBuilder().setVersion(version).setPhase(phase).setExpectedItems(expected)
                .setDimension(dimension).setEventTime(eventTime).build();
        try {
            return producer.send(new ProducerRecord<>(versionsTopic, null, eventTime, utf8(version), VERSIONS.encode(record))).get();
        } catch (ExecutionException e) {
            throw UserError.failed("cannot write " + phase + " of " + version + " to " + versionsTopic + ": "
                    + e.getCause().getMessage());
        }
    }

    /** Sends {@code count} records asynchronously with progress; fails on the first send that failed. */
    private void sendAll(int count, java.util.function.IntFunction<ProducerRecord<byte[], byte[]>> record) {
        AtomicLong acked = new AtomicLong();
        AtomicReference<Exception> failure = new AtomicReference<>();
        Progress progress = new Progress(out, settings.progressInterval());
        for (int i = 0; i < count && failure.get() == null; i++) {
            producer.send(record.apply(i), (metadata, e) -> {
                if (e != null) {
                    failure.compareAndSet(null, e);
                } else {
                    acked.incrementAndGet();
                }
            });
            int sent = i + 1;
            progress.maybe(() -> String.format("  sent %d/%d (%d%%), %d acknowledged", sent, count, 100L * sent / count, acked.get()));
        }
        producer.flush();
        if (failure.get() != null) {
            throw UserError.failed("sending to " + itemsTopic + " failed after " + acked.get() + " of " + count
                    + " records were written: " + failure.get().getMessage());
        }
    }

    /** Polls the index's count until {@code done} holds; prints changes; fails after the wait timeout. */
    private long awaitCount(String version, LongPredicate done, String expectation, long sendStart) throws Exception {
        long deadline = System.nanoTime() + settings.waitTimeout().toNanos();
        Progress progress = new Progress(out, settings.progressInterval());
        long last = -1;
        String lastError = null;
        while (true) {
            try {
                long n = index.items(version);
                lastError = null;
                if (done.test(n)) {
                    return n;
                }
                long count = n;
                progress.maybe(() -> String.format("  index: %d items of %s, waiting for %s (%.0f s)", count, version,
                        expectation, (System.nanoTime() - sendStart) / 1e9));
                last = n;
            } catch (Exception e) {
                if (!String.valueOf(e.getMessage()).equals(lastError)) {
                    out.println("  cannot read the index's count yet: " + e.getMessage());
                }
                lastError = String.valueOf(e.getMessage());
            }
            if (System.nanoTime() > deadline) {
                throw UserError.failed("the index did not reach " + expectation + " items of " + version + " within "
                        + settings.waitTimeout().toSeconds() + " s (last count: "
                        + (last < 0 ? "none, " + lastError : last) + "); " + version + " was not switched to SERVING"
                        + (last > 0 ? "" : "; are the items dead-lettered? (bin/dead-letters --job index-job)"));
            }
            Thread.sleep(settings.pollInterval().toMillis());
        }
    }

    private ProducerRecord<byte[], byte[]> item(EmbeddingFile.Embedding e, String version, long eventTime) {
        List<Float> vector = new ArrayList<>(e.vector().length);
        for (float v : e.vector()) {
            vector.add(v);
        }
        ItemEmbedding record = ItemEmbedding.newBuilder().setItemId(e.id()).setModelVersion(version).setVector(vector)
                .setCategory(e.category()).setTags(new ArrayList<>(e.tags())).setStatus(ItemStatus.ACTIVE)
                .setEventTime(eventTime).build();
        return new ProducerRecord<>(itemsTopic, null, eventTime, utf8(e.id()), ITEMS.encode(record));
    }

    private ProducerRecord<byte[], byte[]> deleted(String id, String version, long eventTime) {
        ItemEmbedding record = ItemEmbedding.newBuilder().setItemId(id).setModelVersion(version).setVector(new ArrayList<>())
                .setCategory(null).setTags(new ArrayList<>()).setStatus(ItemStatus.DELETED).setEventTime(eventTime).build();
        return new ProducerRecord<>(itemsTopic, null, eventTime, utf8(id), ITEMS.encode(record));
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    static String rate(long count, long millis) {
        return millis <= 0 ? "-" : String.format("%.0f", count * 1000.0 / millis);
    }

    @Override
    public void close() {
        producer.close(Duration.ofSeconds(30));
    }
}
