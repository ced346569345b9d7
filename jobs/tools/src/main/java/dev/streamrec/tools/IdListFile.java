package dev.streamrec.tools;

import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** A file of item ids, one a line ({@code --delete} mode); blank lines and {@code #} comments are skipped. */
public final class IdListFile {
    private IdListFile() {}

    public record Ids(List<String> ids, LineProblems problems) {}

    public static Ids read(Path file, int maxReported) {
        try (BufferedReader in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            return read(in, maxReported);
        } catch (IOException e) {
            throw UserError.usage("cannot read " + file + ": " + e.getMessage());
        }
    }

    static Ids read(BufferedReader in, int maxReported) throws IOException {
        List<String> ids = new ArrayList<>();
        LineProblems problems = new LineProblems(maxReported);
        Map<String, Integer> firstLine = new HashMap<>();
        int lineNumber = 0;
        for (String line; (line = in.readLine()) != null; ) {
            lineNumber++;
            String id = line.strip();
            if (id.isEmpty() || id.startsWith("#")) {
                continue;
            }
            if (id.chars().anyMatch(c -> Character.isWhitespace(c) || c == ',')) {
                // Most likely an embedding file given to --delete: refuse rather than delete odd ids.
                problems.add(lineNumber, "not a single id: '" + (id.length() > 40 ? id.substring(0, 40) + "..." : id) + "'");
                continue;
            }
            Integer seen = firstLine.putIfAbsent(id, lineNumber);
            if (seen != null) {
                problems.add(lineNumber, "duplicate id '" + id + "' (first on line " + seen + ")");
                continue;
            }
            ids.add(id);
        }
        if (ids.isEmpty() && problems.count() == 0) {
            problems.add(lineNumber, "no ids in the file");
        }
        return new Ids(ids, problems);
    }
}
