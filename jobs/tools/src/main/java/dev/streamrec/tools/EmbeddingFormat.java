package dev.streamrec.tools;

import java.nio.file.Path;
import java.util.Locale;
import java.util.Optional;

/** The embedding file formats {@code bin/publish-embeddings} reads. */
public enum EmbeddingFormat {
    /** {@code id,v1,...,vn}; an optional header line (its second field is not a number) is skipped. */
    CSV,
    /** {@code id<TAB>v1<TAB>...<TAB>vn}; an optional header line is skipped. */
    TSV,
    /** {@code id:v1 v2 ... vn} or word2vec's {@code id v1 v2 ... vn}; word2vec's {@code count dim} header is checked and skipped. */
    TEXT,
    /** One JSON object a line: {@code {"id": "...", "vector": [...], "category": "...", "tags": [...]}}. */
    JSONL;

    /** A {@code --format} value: csv, tsv, text (or word2vec), jsonl (or json, ndjson). */
    public static EmbeddingFormat named(String name) {
        switch (name.toLowerCase(Locale.ROOT)) {
            case "csv": return CSV;
            case "tsv": return TSV;
            case "text": case "word2vec": return TEXT;
            case "jsonl": case "json": case "ndjson": return JSONL;
            default: throw UserError.usage("unknown --format '" + name + "' (csv, tsv, text, jsonl)");
        }
    }

    /** The format a file's extension says, if it says one. */
    public static Optional<EmbeddingFormat> ofFileName(Path file) {
        String name = file.getFileName().toString().toLowerCase(Locale.ROOT);
        int dot = name.lastIndexOf('.');
        String extension = dot < 0 ? "" : name.substring(dot + 1);
        switch (extension) {
            case "csv": return Optional.of(CSV);
            case "tsv": case "tab": return Optional.of(TSV);
            case "txt": case "vec": case "w2v": case "emb": case "embeddings": return Optional.of(TEXT);
            case "jsonl": case "ndjson": case "json": return Optional.of(JSONL);
            default: return Optional.empty();
        }
    }
}
