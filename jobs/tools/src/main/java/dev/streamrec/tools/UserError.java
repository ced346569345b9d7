package dev.streamrec.tools;

/**
 * A failure the user can act on, reported as one line without a stack trace: bad usage or input (exit 64), or a step
 * that did not complete (exit 1).
 */
public final class UserError extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final int exitCode;

    private UserError(String message, int exitCode) {
        super(message);
        this.exitCode = exitCode;
    }

    /** Bad usage or malformed input: nothing was done. */
    public static UserError usage(String message) {
        return new UserError(message, ToolCommand.USAGE);
    }

    /** A step failed or did not finish in time. */
    public static UserError failed(String message) {
        return new UserError(message, ToolCommand.FAILED);
    }

    public int exitCode() {
        return exitCode;
    }
}
