package dev.streamrec.cluster;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.jar.JarOutputStream;
import java.util.stream.Stream;

import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;

import org.apache.avro.Schema;
import org.apache.avro.compiler.specific.SpecificCompiler;
import org.apache.avro.generic.GenericData;

/**
 * The next build of a job for the upgrade test: its job jar with one state record's class replaced by the class Avro's
 * compiler generates from the record's schema with a field added (a string, default ""), as a developer's next
 * release would have it. The jobs build their state records through builders, so the rest of the jar runs unchanged
 * with it; the state written by either build restores in the other (Avro schema resolution: a missing field takes its
 * default, an unknown one is skipped).
 */
final class NextBuild {
    static final String ADDED_FIELD = "nextBuildNote";

    /** The state record each job's next build evolves. */
    static final Map<String, String> STATE_RECORDS = Map.of(
            "feature-job", "dev.streamrec.avro.ItemProfile",
            "index-job", "dev.streamrec.avro.ShardItem",
            "dedup-job", "dev.streamrec.avro.SeenSet",
            "joiner-job", "dev.streamrec.avro.JoinState");

    private NextBuild() {}

    /** Writes {@code dir/<job jar's name>}: the job jar with {@code STATE_RECORDS.get(job)} evolved. */
    static Path of(String job, Path jobJar, Path dir) throws Exception {
        String recordClass = STATE_RECORDS.get(job);
        Schema current = (Schema) Class.forName(recordClass).getField("SCHEMA$").get(null);
        Path sources = Files.createDirectories(dir.resolve(job + "-src"));
        Path classes = Files.createDirectories(dir.resolve(job + "-classes"));
        SpecificCompiler compiler = new SpecificCompiler(withAddedField(current));
        compiler.setStringType(GenericData.StringType.String);
        compiler.setFieldVisibility(SpecificCompiler.FieldVisibility.PRIVATE);
        compiler.compileToDestination(null, sources.toFile());
        Path source = sources.resolve(recordClass.replace('.', '/') + ".java");
        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        if (javac == null) {
            throw new IllegalStateException("no Java compiler in " + System.getProperty("java.home") + " (a JDK is needed)");
        }
        // Only the evolved record is compiled, against the job jar (its other records, Avro itself).
        int status = javac.run(null, null, null, "--release", "17", "-nowarn", "-d", classes.toString(),
                "-cp", jobJar.toString(), source.toString());
        if (status != 0) {
            throw new IllegalStateException("javac failed (" + status + ") on " + source);
        }
        Path out = dir.resolve(jobJar.getFileName());
        String prefix = recordClass.replace('.', '/');
        try (JarFile in = new JarFile(jobJar.toFile());
             JarOutputStream jar = new JarOutputStream(Files.newOutputStream(out))) {
            for (JarEntry entry : java.util.Collections.list(in.entries())) {
                if (entry.getName().equals(prefix + ".class") || entry.getName().startsWith(prefix + "$")) {
                    continue;
                }
                jar.putNextEntry(new JarEntry(entry.getName()));
                try (InputStream data = in.getInputStream(entry)) {
                    data.transferTo(jar);
                }
                jar.closeEntry();
            }
            List<Path> compiled = new ArrayList<>();
            Path packageDir = classes.resolve(prefix).getParent();
            try (Stream<Path> files = Files.list(packageDir)) {
                files.filter(f -> f.getFileName().toString().equals(simpleName(recordClass) + ".class")
                        || f.getFileName().toString().startsWith(simpleName(recordClass) + "$")).forEach(compiled::add);
            }
            for (Path c : compiled) {
                jar.putNextEntry(new JarEntry(classes.relativize(c).toString().replace('\\', '/')));
                Files.copy(c, jar);
                jar.closeEntry();
            }
        }
        return out;
    }

    static Schema withAddedField(Schema record) {
        List<Schema.Field> fields = new ArrayList<>();
        for (Schema.Field f : record.getFields()) {
            fields.add(new Schema.Field(f, f.schema()));
        }
        fields.add(new Schema.Field(ADDED_FIELD, Schema.create(Schema.Type.STRING),
                "Added by the next build (the cluster upgrade test's state change).", ""));
        Schema evolved = Schema.createRecord(record.getName(), record.getDoc(), record.getNamespace(), false, fields);
        record.getObjectProps().forEach(evolved::addProp);
        return evolved;
    }

    private static String simpleName(String className) {
        return className.substring(className.lastIndexOf('.') + 1);
    }
}
