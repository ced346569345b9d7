package dev.streamrec.testkit;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;
import java.util.function.Function;

import org.apache.avro.specific.SpecificRecordBase;

import dev.streamrec.schemas.Topic;

/**
 * The input topics of one job ({@code prefix + topic}) for a test that feeds them step by step: each step produces a
 * list of records and may wait until the job has read and checkpointed all of it (its Kafka sources, consumer group
 * {@code prefix + job name}, commit offsets at checkpoints), so that what the next step sends finds it in the job's
 * state.
 *
 * <pre>{@code
 * JobInput input = new JobInput(kafka, prefix, FeatureJob.NAME);
 * input.produce(Topic.ITEM_EMBEDDINGS, items, ItemEmbedding::getItemId, true);
 * input.produce(Topic.USER_ACTIONS, actions, UserAction::getUserId);
 * }</pre>
 */
public final class JobInput {
    private static final Duration INGEST_TIMEOUT = Duration.ofMinutes(3);

    private final KafkaTestIO kafka;
    private final String prefix;
    private final String job;

    public JobInput(KafkaTestIO kafka, String prefix, String job) {
        this.kafka = kafka;
        this.prefix = prefix;
        this.job = job;
    }

    /** Produces {@code records} to the topic, keyed by {@code key}, with the time of sending as Kafka timestamp. */
    public <T extends SpecificRecordBase> void produce(Topic topic, List<T> records, Function<T, String> key) {
        kafka.produceAll(topic.name(prefix), records, key);
    }

    /** Like {@link #produce(Topic, List, Function)}, then with {@code awaitIngested} {@link #awaitIngested(Topic)}. */
    public <T extends SpecificRecordBase> void produce(Topic topic, List<T> records, Function<T, String> key,
                                                       boolean awaitIngested) throws Exception {
        produce(topic, records, key);
        if (awaitIngested) {
            awaitIngested(topic);
        }
    }

    /** Asserts that the job commits the end of the topic within 3 minutes: its state then holds all that was sent. */
    public void awaitIngested(Topic topic) throws Exception {
        String name = topic.name(prefix);
        assertThat(TopicAdmin.awaitCommittedToEnd(kafka.bootstrapServers(), prefix + job, name, INGEST_TIMEOUT))
                .as("%s committed the end of %s within 3 minutes", job, name).isTrue();
    }
}
