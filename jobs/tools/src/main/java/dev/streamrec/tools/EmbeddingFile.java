package dev.streamrec.tools;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * An embedding file read and validated whole before anything is published: every line parsed, one dimension, finite
 * values, no all-zero vector, no duplicate id. Problems are collected with their line numbers (the first
 * {@code maxReported} kept, all counted), so a user fixes the file in one go.
 */
public final class EmbeddingFile {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern WHITESPACE = Pattern.compile("\\s+");
    private static final Pattern WORD2VEC_HEADER = Pattern.compile("\\d+\\s+\\d+");

    /** One item of the file; {@code category} and {@code tags} from the file (JSON lines) or the defaults. */
    public record Embedding(String id, float[] vector, String category, List<String> tags, int line) {}

    private final List<Embedding> embeddings = new ArrayList<>();
    private final LineProblems problems;
    private int dimension = -1;
    private int dimensionLine;

    private EmbeddingFile(int maxReported) {
        this.problems = new LineProblems(maxReported);
    }

    public List<Embedding> embeddings() {
        return embeddings;
    }

    /** The vectors' dimension; -1 for a file without any. */
    public int dimension() {
        return dimension;
    }

    public LineProblems problems() {
        return problems;
    }

    public static EmbeddingFile read(Path file, EmbeddingFormat format, String defaultCategory, List<String> defaultTags,
                                     int maxReported) {
        try (BufferedReader in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            return read(in, format, defaultCategory, defaultTags, maxReported);
        } catch (IOException e) {
            throw UserError.usage("cannot read " + file + ": " + e.getMessage());
        } catch (UncheckedIOException e) {
            throw UserError.usage("cannot read " + file + ": " + e.getCause().getMessage());
        }
    }

    static EmbeddingFile read(BufferedReader in, EmbeddingFormat format, String defaultCategory, List<String> defaultTags,
                              int maxReported) throws IOException {
        EmbeddingFile result = new EmbeddingFile(maxReported);
        Map<String, Integer> firstLine = new HashMap<>();
        long declaredCount = -1;
        int lineNumber = 0;
        boolean first = true;
        for (String line; (line = in.readLine()) != null; ) {
            lineNumber++;
            String text = line.strip();
            if (text.isEmpty() || format != EmbeddingFormat.JSONL && text.startsWith("#")) {
                continue;
            }
            boolean isFirst = first;
            first = false;
            if (isFirst && format == EmbeddingFormat.TEXT && WORD2VEC_HEADER.matcher(text).matches()) {
                String[] header = WHITESPACE.split(text);
                declaredCount = Long.parseLong(header[0]);
                result.dimension = Integer.parseInt(header[1]);
                result.dimensionLine = lineNumber;
                continue;
            }
            if (isFirst && (format == EmbeddingFormat.CSV || format == EmbeddingFormat.TSV) && isHeader(text, format)) {
                continue;
            }
            Embedding e;
            try {
                e = switch (format) {
                    case CSV -> delimited(text, ",", defaultCategory, defaultTags, lineNumber);
                    case TSV -> delimited(text, "\t", defaultCategory, defaultTags, lineNumber);
                    case TEXT -> word2vec(text, defaultCategory, defaultTags, lineNumber);
                    case JSONL -> jsonLine(text, defaultCategory, defaultTags, lineNumber);
                };
            } catch (LineError error) {
                result.problems.add(lineNumber, error.getMessage());
                continue;
            }
            String problem = result.check(e);
            if (problem == null) {
                Integer seen = firstLine.putIfAbsent(e.id(), lineNumber);
                problem = seen == null ? null : "duplicate id '" + e.id() + "' (first on line " + seen + ")";
            }
            if (problem != null) {
                result.problems.add(lineNumber, problem);
            } else {
                result.embeddings.add(e);
            }
        }
        if (declaredCount >= 0 && result.problems.count() == 0 && declaredCount != result.embeddings.size()) {
            result.problems.add(result.dimensionLine, "the header declares " + declaredCount + " vectors, the file has "
                    + result.embeddings.size());
        }
        if (result.embeddings.isEmpty() && result.problems.count() == 0) {
            result.problems.add(lineNumber, "no embeddings in the file");
        }
        return result;
    }

    /** Dimension, finite values and a direction; the first vector (or word2vec's header) sets the dimension. */
    private String check(Embedding e) {
        float[] v = e.vector();
        if (dimension < 0) {
            dimension = v.length;
            dimensionLine = e.line();
        } else if (v.length != dimension) {
            return "dimension " + v.length + ", expected " + dimension + " (as on line " + dimensionLine + ")";
        }
        boolean zero = true;
        for (int i = 0; i < v.length; i++) {
            if (!Float.isFinite(v[i])) {
                return "value " + (i + 1) + " is " + v[i];
            }
            zero &= v[i] == 0f;
        }
        return zero ? "the vector is all zeros (it has no direction)" : null;
    }

    private static boolean isHeader(String text, EmbeddingFormat format) {
        String[] fields = text.split(format == EmbeddingFormat.CSV ? "," : "\t", -1);
        return fields.length < 2 || !isNumber(unquote(fields[1].strip()));
    }

    private static boolean isNumber(String s) {
        try {
            Float.parseFloat(s);
            return true;
        } catch (NumberFormatException e) {
            return false;
        }
    }

    private static Embedding delimited(String text, String delimiter, String category, List<String> tags, int line) {
        String[] fields = text.split(delimiter, -1);
        String id = unquote(fields[0].strip());
        float[] vector = new float[fields.length - 1];
        for (int i = 1; i < fields.length; i++) {
            vector[i - 1] = number(unquote(fields[i].strip()), i);
        }
        return embedding(id, vector, category, tags, line);
    }

    /** {@code id:v1 v2 ...} or {@code id v1 v2 ...}: the id is the first word, up to its last colon if it has one. */
    private static Embedding word2vec(String text, String category, List<String> tags, int line) {
        String[] words = WHITESPACE.split(text);
        String id = words[0];
        List<String> values = new ArrayList<>(List.of(words).subList(1, words.length));
        int colon = id.lastIndexOf(':');
        if (colon >= 0) {
            if (colon + 1 < id.length()) {
                values.add(0, id.substring(colon + 1));
            }
            id = id.substring(0, colon);
        }
        float[] vector = new float[values.size()];
        for (int i = 0; i < vector.length; i++) {
            vector[i] = number(values.get(i), i + 1);
        }
        return embedding(id, vector, category, tags, line);
    }

    private static Embedding jsonLine(String text, String category, List<String> tags, int line) {
        JsonNode node;
        try {
            node = JSON.readTree(text);
        } catch (JsonProcessingException e) {
            throw new LineError("not JSON: " + e.getOriginalMessage());
        }
        if (!node.isObject()) {
            throw new LineError("not a JSON object");
        }
        JsonNode id = node.get("id");
        if (id == null || !(id.isTextual() || id.isIntegralNumber())) {
            throw new LineError("\"id\" is missing or not a string");
        }
        JsonNode vector = node.get("vector");
        if (vector == null || !vector.isArray()) {
            throw new LineError("\"vector\" is missing or not an array");
        }
        float[] values = new float[vector.size()];
        for (int i = 0; i < values.length; i++) {
            JsonNode v = vector.get(i);
            if (!v.isNumber()) {
                throw new LineError("value " + (i + 1) + " of \"vector\" is not a number: " + v);
            }
            values[i] = v.floatValue();
        }
        JsonNode c = node.get("category");
        if (c != null && !c.isNull()) {
            if (!c.isTextual()) {
                throw new LineError("\"category\" is not a string");
            }
            category = c.asText();
        }
        JsonNode t = node.get("tags");
        if (t != null && !t.isNull()) {
            if (!t.isArray()) {
                throw new LineError("\"tags\" is not an array");
            }
            List<String> own = new ArrayList<>();
            for (JsonNode tag : t) {
                if (!tag.isTextual()) {
                    throw new LineError("a tag is not a string: " + tag);
                }
                own.add(tag.asText());
            }
            tags = own;
        }
        return embedding(id.asText(), values, category, tags, line);
    }

    private static Embedding embedding(String id, float[] vector, String category, List<String> tags, int line) {
        if (id.isBlank()) {
            throw new LineError("missing id");
        }
        if (vector.length == 0) {
            throw new LineError("no vector values after id '" + id + "'");
        }
        return new Embedding(id, vector, category, tags, line);
    }

    private static float number(String s, int position) {
        try {
            return Float.parseFloat(s);
        } catch (NumberFormatException e) {
            throw new LineError("value " + position + " is not a number: '" + s + "'");
        }
    }

    private static String unquote(String s) {
        return s.length() >= 2 && s.startsWith("\"") && s.endsWith("\"") ? s.substring(1, s.length() - 1) : s;
    }

    /** What is wrong with one line. */
    private static final class LineError extends RuntimeException {
        private static final long serialVersionUID = 1L;

        LineError(String message) {
            super(message, null, false, false);
        }
    }
}
