package dev.streamrec.cluster;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;

/**
 * What the operator CLI did with one job, oldest first, kept as {@code history/<job>.json} in the CLI's folder: each
 * start (jar, arguments, parallelism, the savepoint it restored) and each savepoint taken (by a stop or on demand).
 * Restarts, rescales and rollbacks read it: "the previous build" is the jar of the start before the current one.
 */
public final class JobHistory {
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    /** {@code event}: "started" or "savepoint"; {@code savepoint}: restored from (started) or written (savepoint). */
    public record Entry(long at, String event, String jobId, String jar, List<String> args, int parallelism,
                        String savepoint, boolean stopped) {}

    private final Path file;
    private final List<Entry> entries;

    private JobHistory(Path file, List<Entry> entries) {
        this.file = file;
        this.entries = entries;
    }

    public static JobHistory of(Path dir, String job) throws IOException {
        Path file = dir.resolve(job + ".json");
        List<Entry> entries = Files.isRegularFile(file)
                ? JSON.readValue(file.toFile(), new TypeReference<List<Entry>>() {}) : new ArrayList<>();
        return new JobHistory(file, new ArrayList<>(entries));
    }

    public List<Entry> entries() {
        return List.copyOf(entries);
    }

    public void add(Entry entry) throws IOException {
        entries.add(entry);
        Files.createDirectories(file.getParent());
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        JSON.writeValue(tmp.toFile(), entries);
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    public Optional<Entry> lastStart() {
        return entries.stream().filter(e -> e.event().equals("started")).reduce((a, b) -> b);
    }

    /** The newest savepoint taken. */
    public Optional<Entry> lastSavepoint() {
        return entries.stream().filter(e -> e.event().equals("savepoint")).reduce((a, b) -> b);
    }

    /** The latest start whose jar differs from the current start's: the build to roll back to. */
    public Optional<Entry> previousBuild() {
        Optional<Entry> current = lastStart();
        if (current.isEmpty()) {
            return Optional.empty();
        }
        Entry previous = null;
        for (Entry e : entries) {
            if (e == current.get()) {
                break;
            }
            if (e.event().equals("started") && !e.jar().equals(current.get().jar())) {
                previous = e;
            }
        }
        return Optional.ofNullable(previous);
    }
}
