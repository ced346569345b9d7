package dev.streamrec.schemas;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import org.apache.avro.Schema;

/**
 * Released versions of each record's schema, kept in the repo under {@code schemas/src/main/avro-history/NAME/vN.avsc}
 * as self-contained JSON (every named type inlined) and shipped as resources.
 *
 * <p>Releasing a schema change: run {@code SchemaHistory.main} (see README) to add the current schemas as the next
 * version; the compatibility test then guards every later change against all released versions.
 */
public final class SchemaHistory {
    /** Upper bound on versions probed per record; far above what a project keeps. */
    private static final int MAX_VERSIONS = 1000;

    private SchemaHistory() {}

    public static List<Schema> releasedVersions(String recordName) {
        List<Schema> versions = new ArrayList<>();
        for (int v = 1; v <= MAX_VERSIONS; v++) {
            String json = AvroSingleObjectSerde.readResource("avro-history/" + recordName + "/v" + v + ".avsc");
            if (json == null) {
                break;
            }
            versions.add(new Schema.Parser().parse(json));
        }
        return versions;
    }

    /** Writes each record's current schema as its next released version, unless it equals the latest one. */
    public static void main(String[] args) throws IOException {
        Path dir = Path.of(args.length > 0 ? args[0] : "schemas/src/main/avro-history");
        for (Schema current : Records.topLevelSchemas()) {
            List<Schema> released = releasedVersions(current.getName());
            Path recordDir = dir.resolve(current.getName());
            Files.createDirectories(recordDir);
            int existing = 0;
            while (Files.exists(recordDir.resolve("v" + (existing + 1) + ".avsc"))) {
                existing++;
            }
            if (!released.isEmpty() && released.get(released.size() - 1).equals(current)) {
                continue;
            }
            Path file = recordDir.resolve("v" + (existing + 1) + ".avsc");
            Files.writeString(file, current.toString(true) + "\n");
            System.out.println("released " + file);
        }
    }
}
