package dev.streamrec.tools;

import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

import dev.streamrec.client.FlinkRestClient;
import dev.streamrec.schemas.Topic;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code bin/publish-embeddings}: an embedding file (or a list of ids to delete) published under a model version. */
@Command(name = "publish-embeddings", sortOptions = false,
        description = {
            "Publishes the embeddings of FILE under model version VERSION: validates the whole file (nothing is sent if a "
                    + "line is malformed), then model-versions LOADING (dimension, expected items), the items on "
                    + "item-embeddings, waits until index-job's shards hold them (Flink REST), then SERVING.",
            "With --delete, FILE lists item ids, one a line, published as DELETED.",
            "Formats: csv / tsv (id,v1,...,vn; a header line is skipped), text (id:v1 v2 ... or word2vec's id v1 v2 ...; "
                    + "its 'count dim' header is checked), jsonl ({\"id\": .., \"vector\": [..], \"category\": .., \"tags\": [..]})."},
        footer = {"", "Exit status: 0 done; 1 a step failed or the wait timed out; 64 bad usage or malformed input."})
public final class PublishEmbeddings implements Callable<Integer> {
    static final String NAME = "publish-embeddings";

    // Not picocli's standard help mixin: it would take --version.
    @Option(names = {"-h", "--help"}, usageHelp = true, description = "This text.")
    boolean help;

    @Option(names = "--file", required = true, paramLabel = "FILE", description = "The embedding file (or id list with --delete).")
    Path file;

    @Option(names = "--version", required = true, paramLabel = "VERSION", description = "The model version.")
    String version;

    @Option(names = "--format", paramLabel = "FORMAT",
            description = "csv, tsv, text or jsonl (default: from the file's extension: .csv .tsv .txt/.vec/.w2v .jsonl/.json).")
    String format;

    @Mixin
    KafkaConnection kafka = new KafkaConnection();

    @Option(names = "--rest", paramLabel = "URL", defaultValue = "http://localhost:8081",
            description = "Flink REST address, where index-job's shard counts are read (default: ${DEFAULT-VALUE}).")
    String rest;

    @Option(names = "--index-job", paramLabel = "NAME", defaultValue = "index-job",
            description = "The index job's name on the cluster (default: ${DEFAULT-VALUE}).")
    String indexJob;

    @Option(names = "--await-jobs", paramLabel = "NAMES", split = ",", defaultValue = "index-job,feature-job",
            description = "Running jobs that must have read LOADING before the items are sent (their dimension check "
                    + "needs it); empty for none (default: ${DEFAULT-VALUE}).")
    List<String> awaitJobs;

    @Option(names = "--no-serve", description = "Stop after the index holds the items: the version stays LOADING.")
    boolean noServe;

    @Option(names = "--no-wait", description = "Send and stop: no wait for the index, no SERVING (no Flink REST needed).")
    boolean noWait;

    @Option(names = "--wait-timeout", paramLabel = "SECONDS", defaultValue = "600",
            description = "How long to wait for the index to hold the items (default: ${DEFAULT-VALUE}).")
    long waitTimeoutSeconds;

    @Option(names = "--category", paramLabel = "NAME",
            description = "Category of every item (a JSON line's own \"category\" wins; default: none).")
    String category;

    @Option(names = "--tag", paramLabel = "TAG", description = "A tag of every item (a JSON line's own \"tags\" win). Repeatable.")
    List<String> tags = new ArrayList<>();

    @Option(names = "--delete", description = "FILE lists item ids to delete (one a line).")
    boolean delete;

    @Option(names = "--wait", description = "With --delete: wait until the version's count has dropped.")
    boolean waitForDeletes;

    @Option(names = "--expect-remaining", paramLabel = "N",
            description = "With --delete --wait: the count to wait for (default: the count before minus the ids).")
    Long expectRemaining;

    @Option(names = "--max-errors", paramLabel = "N", defaultValue = "20",
            description = "Malformed lines to print (all are counted; default: ${DEFAULT-VALUE}).")
    int maxErrors;

    @Option(names = "--progress-seconds", paramLabel = "SECONDS", defaultValue = "1",
            description = "Interval of the progress lines (default: ${DEFAULT-VALUE}).")
    double progressSeconds;

    /** The index's count; replaced by tests with another real source. */
    IndexItemCount indexCount;
    PrintStream out = System.out;

    public static void main(String[] args) {
        System.exit(ToolCommand.execute(new PublishEmbeddings(), args, System.out, System.err));
    }

    @Override
    public Integer call() throws Exception {
        if (version.isBlank()) {
            throw UserError.usage("--version must not be blank");
        }
        if (expectRemaining != null && !(delete && waitForDeletes)) {
            throw UserError.usage("--expect-remaining goes with --delete --wait");
        }
        boolean wait = delete ? waitForDeletes : !noWait;
        FlinkRestClient flink = new FlinkRestClient(rest, Duration.ofSeconds(10));
        IndexItemCount count = !wait ? null : indexCount != null ? indexCount : new RestIndexItemCount(flink, indexJob);
        EmbeddingPublisher.Settings settings = new EmbeddingPublisher.Settings(Duration.ofSeconds(waitTimeoutSeconds),
                Duration.ofSeconds(120), Duration.ofMillis((long) (progressSeconds * 1000)), Duration.ofMillis(500));

        if (delete) {
            IdListFile.Ids ids = IdListFile.read(file, maxErrors);
            if (ids.problems().count() > 0) {
                throw ids.problems().asError(file.toString());
            }
            try (EmbeddingPublisher publisher = publisher(count, null, settings)) {
                EmbeddingPublisher.Report r = publisher.delete(version, ids.ids(), expectRemaining);
                out.printf("done: %d deletes of %s published in %.1f s%s%n", r.items(), file, r.publishMillis() / 1e3,
                        r.absorbMillis() < 0 ? "" : String.format(", absorbed by the index in %.1f s", r.absorbMillis() / 1e3));
            }
            return ToolCommand.OK;
        }

        EmbeddingFormat fileFormat = format != null ? EmbeddingFormat.named(format)
                : EmbeddingFormat.ofFileName(file).orElseThrow(() -> UserError.usage(
                        "cannot tell the format of " + file + " from its extension: give --format csv|tsv|text|jsonl"));
        EmbeddingFile embeddings = EmbeddingFile.read(file, fileFormat, category, tags, maxErrors);
        if (embeddings.problems().count() > 0) {
            throw embeddings.problems().asError(file.toString());
        }
        out.printf("%s: %d embeddings of dimension %d (%s), valid%n", file, embeddings.embeddings().size(),
                embeddings.dimension(), fileFormat.name().toLowerCase());
        JobsReadControl readers = awaitJobs.stream().allMatch(String::isBlank) ? null
                : new JobsReadControl(kafka.clientProperties(NAME), flink, kafka.prefix(NAME),
                        awaitJobs.stream().filter(j -> !j.isBlank()).toList());
        try (EmbeddingPublisher publisher = publisher(count, readers, settings)) {
            EmbeddingPublisher.Report r = publisher.publish(version, embeddings, !noServe);
            out.printf("done: %d items of dimension %d published as %s in %.1f s%s%s%n", r.items(), r.dimension(),
                    r.version(), r.publishMillis() / 1e3,
                    r.absorbMillis() < 0 ? "" : String.format(", absorbed by the index in %.1f s (%s items/s)",
                            r.absorbMillis() / 1e3, EmbeddingPublisher.rate(r.items(), r.absorbMillis())),
                    r.served() ? "; " + r.version() + " is SERVING" : "; " + r.version() + " is LOADING");
        }
        return ToolCommand.OK;
    }

    private EmbeddingPublisher publisher(IndexItemCount count, JobsReadControl readers, EmbeddingPublisher.Settings settings) {
        return new EmbeddingPublisher(kafka.clientProperties(NAME), kafka.topic(NAME, Topic.MODEL_VERSIONS),
                kafka.topic(NAME, Topic.ITEM_EMBEDDINGS), count, readers, settings, out);
    }
}
