package dev.streamrec.schemas;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.stream.Stream;

import org.apache.avro.Schema;
import org.apache.avro.SchemaCompatibility;
import org.apache.avro.SchemaCompatibility.SchemaCompatibilityType;
import org.apache.avro.SchemaCompatibility.SchemaPairCompatibility;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Fails the build when a schema change would break a reader of data written with any released version:
 * the current schema (as reader) must resolve every version kept under {@code avro-history/}.
 */
class SchemaCompatibilityTest {

    static Stream<Arguments> currentAndReleased() {
        return Records.topLevelSchemas().stream().map(s -> Arguments.of(s.getName(), s));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("currentAndReleased")
    void currentSchemaReadsEveryReleasedVersion(String name, Schema current) {
        List<Schema> released = SchemaHistory.releasedVersions(name);
        assertThat(released)
                .as("%s has no released version under schemas/src/main/avro-history/%s: release it (README, 'Schema changes')", name, name)
                .isNotEmpty();
        for (int v = 0; v < released.size(); v++) {
            SchemaPairCompatibility result = SchemaCompatibility.checkReaderWriterCompatibility(current, released.get(v));
            assertThat(result.getType())
                    .as("%s: current schema cannot read data written with v%d: %s", name, v + 1, result.getResult().getIncompatibilities())
                    .isEqualTo(SchemaCompatibilityType.COMPATIBLE);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("currentAndReleased")
    void checkerRejectsABreakingChange(String name, Schema current) {
        // Guard against a check that cannot fail: adding a required field without default must be flagged.
        String broken = current.toString().replaceFirst("\"fields\":\\[",
                "\"fields\":[{\"name\":\"addedWithoutDefault\",\"type\":\"string\"},");
        Schema brokenReader = new Schema.Parser().parse(broken);
        SchemaPairCompatibility result = SchemaCompatibility.checkReaderWriterCompatibility(brokenReader, current);
        assertThat(result.getType()).isEqualTo(SchemaCompatibilityType.INCOMPATIBLE);
    }
}
