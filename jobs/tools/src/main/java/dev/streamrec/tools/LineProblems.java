package dev.streamrec.tools;

import java.util.ArrayList;
import java.util.List;

/** What is wrong with an input file, by line: the first few kept to print, all of them counted. */
public final class LineProblems {
    private final int maxKept;
    private final List<String> kept = new ArrayList<>();
    private int count;

    public LineProblems(int maxKept) {
        this.maxKept = maxKept;
    }

    public void add(int line, String problem) {
        count++;
        if (kept.size() < maxKept) {
            kept.add("line " + line + ": " + problem);
        }
    }

    public int count() {
        return count;
    }

    /** {@code "line N: ..."}, in file order. */
    public List<String> kept() {
        return kept;
    }

    /**
     * The report for a file that failed validation: each kept problem on its own line, then how many were not shown;
     * thrown as a usage error (exit 64), since nothing was sent.
     */
    public UserError asError(String file) {
        StringBuilder sb = new StringBuilder(file + ": " + count + (count == 1 ? " malformed line" : " malformed lines")
                + ", nothing sent");
        for (String p : kept) {
            sb.append("\n  ").append(p);
        }
        if (count > kept.size()) {
            sb.append("\n  ... and ").append(count - kept.size()).append(" more (--max-errors shows more)");
        }
        return UserError.usage(sb.toString());
    }
}
