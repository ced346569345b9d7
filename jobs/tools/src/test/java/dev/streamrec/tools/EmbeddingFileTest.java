package dev.streamrec.tools;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.StringReader;
import java.util.List;

import org.junit.jupiter.api.Test;

class EmbeddingFileTest {
    private static EmbeddingFile read(EmbeddingFormat format, String text) throws Exception {
        return EmbeddingFile.read(new BufferedReader(new StringReader(text)), format, "books", List.of("t"), 20);
    }

    @Test
    void csvWithAHeaderLine() throws Exception {
        EmbeddingFile f = read(EmbeddingFormat.CSV, "id,v1,v2,v3\ni1,1,0,0.5\n\"i2\",-1,2e-1,3\n");
        assertThat(f.problems().kept()).isEmpty();
        assertThat(f.dimension()).isEqualTo(3);
        assertThat(f.embeddings()).extracting(EmbeddingFile.Embedding::id).containsExactly("i1", "i2");
        assertThat(f.embeddings().get(1).vector()).containsExactly(-1f, 0.2f, 3f);
        assertThat(f.embeddings().get(0).category()).isEqualTo("books");
        assertThat(f.embeddings().get(0).line()).isEqualTo(2);
    }

    @Test
    void tsvWithoutHeader() throws Exception {
        EmbeddingFile f = read(EmbeddingFormat.TSV, "i1\t1\t2\ni2\t3\t4\n");
        assertThat(f.problems().count()).isZero();
        assertThat(f.embeddings()).hasSize(2);
        assertThat(f.embeddings().get(0).vector()).containsExactly(1f, 2f);
    }

    @Test
    void textWithColonOrWord2vecLayoutAndItsHeader() throws Exception {
        EmbeddingFile colon = read(EmbeddingFormat.TEXT, "m1:0.1 0.2 0.3\nm2: 1 2 3\n");
        assertThat(colon.problems().kept()).isEmpty();
        assertThat(colon.embeddings()).extracting(EmbeddingFile.Embedding::id).containsExactly("m1", "m2");
        assertThat(colon.embeddings().get(0).vector()).containsExactly(0.1f, 0.2f, 0.3f);

        EmbeddingFile word2vec = read(EmbeddingFormat.TEXT, "2 3\nm1 0.1 0.2 0.3\nm2 1 2 3\n");
        assertThat(word2vec.problems().kept()).isEmpty();
        assertThat(word2vec.embeddings()).hasSize(2);
        assertThat(word2vec.dimension()).isEqualTo(3);

        EmbeddingFile wrongHeader = read(EmbeddingFormat.TEXT, "3 3\nm1 0.1 0.2 0.3\nm2 1 2 3\n");
        assertThat(wrongHeader.problems().kept()).containsExactly("line 1: the header declares 3 vectors, the file has 2");
        EmbeddingFile wrongDimension = read(EmbeddingFormat.TEXT, "2 4\nm1 0.1 0.2 0.3\nm2 1 2 3 4\n");
        assertThat(wrongDimension.problems().kept()).containsExactly("line 2: dimension 3, expected 4 (as on line 1)");
    }

    @Test
    void jsonLinesCarryTheirOwnCategoryAndTags() throws Exception {
        EmbeddingFile f = read(EmbeddingFormat.JSONL, """
                {"id": "a", "vector": [1, 0], "category": "shoes", "tags": ["red", "sale"]}
                {"id": "b", "vector": [0.5, 0.5]}
                """);
        assertThat(f.problems().kept()).isEmpty();
        assertThat(f.embeddings().get(0).category()).isEqualTo("shoes");
        assertThat(f.embeddings().get(0).tags()).containsExactly("red", "sale");
        assertThat(f.embeddings().get(1).category()).isEqualTo("books");
        assertThat(f.embeddings().get(1).tags()).containsExactly("t");
    }

    @Test
    void everyMalformedLineIsReportedWithItsNumber() throws Exception {
        EmbeddingFile f = read(EmbeddingFormat.CSV, String.join("\n",
                "i1,1,2,3",          // 1 ok: sets the dimension
                "i2,1,2",            // 2 dimension
                "i3,1,x,3",          // 3 not a number
                "i4,NaN,1,1",        // 4 not finite
                "i5,0,0,0",          // 5 zero
                "i1,3,2,1",          // 6 duplicate
                ",1,1,1",            // 7 no id
                "i8",                // 8 no values
                "i9,1e40,1,1",       // 9 overflows a float
                "", "i10,1,1,1"));   // blank line skipped; 11 ok
        assertThat(f.problems().kept()).containsExactly(
                "line 2: dimension 2, expected 3 (as on line 1)",
                "line 3: value 2 is not a number: 'x'",
                "line 4: value 1 is NaN",
                "line 5: the vector is all zeros (it has no direction)",
                "line 6: duplicate id 'i1' (first on line 1)",
                "line 7: missing id",
                "line 8: no vector values after id 'i8'",
                "line 9: value 1 is Infinity");
        assertThat(f.embeddings()).extracting(EmbeddingFile.Embedding::id).containsExactly("i1", "i10");
    }

    @Test
    void malformedJsonLines() throws Exception {
        EmbeddingFile f = read(EmbeddingFormat.JSONL, String.join("\n",
                "{\"id\": \"a\", \"vector\": [1, 2]}",
                "{\"id\": \"b\", \"vector\": [1, \"2\"]}",
                "{\"id\": \"c\"}",
                "not json",
                "{\"vector\": [1, 2]}",
                "{\"id\": \"d\", \"vector\": [1, 2], \"tags\": \"x\"}"));
        assertThat(f.problems().kept()).hasSize(5).satisfiesExactly(
                p -> assertThat(p).isEqualTo("line 2: value 2 of \"vector\" is not a number: \"2\""),
                p -> assertThat(p).isEqualTo("line 3: \"vector\" is missing or not an array"),
                p -> assertThat(p).startsWith("line 4: not JSON: "),
                p -> assertThat(p).isEqualTo("line 5: \"id\" is missing or not a string"),
                p -> assertThat(p).isEqualTo("line 6: \"tags\" is not an array"));
    }

    @Test
    void theReportIsCutAtTheLimitButCountsEveryLine() throws Exception {
        StringBuilder text = new StringBuilder("i0,1,1\n");
        for (int i = 1; i <= 30; i++) {
            text.append("i").append(i).append(",1\n");
        }
        EmbeddingFile f = read(EmbeddingFormat.CSV, text.toString());
        assertThat(f.problems().count()).isEqualTo(30);
        assertThat(f.problems().kept()).hasSize(20).first().isEqualTo("line 2: dimension 1, expected 2 (as on line 1)");
        assertThat(f.problems().asError("f.csv").getMessage())
                .startsWith("f.csv: 30 malformed lines, nothing sent\n  line 2: ")
                .endsWith("\n  ... and 10 more (--max-errors shows more)");
        assertThat(f.problems().asError("f.csv").exitCode()).isEqualTo(ToolCommand.USAGE);
    }

    @Test
    void anEmptyFileIsAnError() throws Exception {
        assertThat(read(EmbeddingFormat.CSV, "id,v1\n").problems().count()).isEqualTo(1);
    }

    @Test
    void idListsForDeletes() throws Exception {
        IdListFile.Ids ids = IdListFile.read(new BufferedReader(new StringReader("a\n# gone\n\nb\na\nc,1,2\n")), 20);
        assertThat(ids.ids()).containsExactly("a", "b");
        assertThat(ids.problems().kept()).containsExactly(
                "line 5: duplicate id 'a' (first on line 1)", "line 6: not a single id: 'c,1,2'");
    }

    @Test
    void formatFromTheExtensionOrByName() {
        assertThat(EmbeddingFormat.ofFileName(java.nio.file.Path.of("x/items.TSV"))).contains(EmbeddingFormat.TSV);
        assertThat(EmbeddingFormat.ofFileName(java.nio.file.Path.of("items.vec"))).contains(EmbeddingFormat.TEXT);
        assertThat(EmbeddingFormat.ofFileName(java.nio.file.Path.of("items.jsonl"))).contains(EmbeddingFormat.JSONL);
        assertThat(EmbeddingFormat.ofFileName(java.nio.file.Path.of("items"))).isEmpty();
        assertThat(EmbeddingFormat.named("word2vec")).isEqualTo(EmbeddingFormat.TEXT);
    }
}
