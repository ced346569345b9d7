package dev.streamrec.tools;

import java.io.PrintStream;
import java.io.PrintWriter;

import picocli.CommandLine;

/** Runs a picocli command with the tools' exit statuses and one-line errors (no stack traces for user errors). */
public final class ToolCommand {
    public static final int OK = 0;
    public static final int FAILED = 1;
    /** EX_USAGE of sysexits.h: bad usage or malformed input. */
    public static final int USAGE = 64;

    private ToolCommand() {}

    /** Parses {@code args} into {@code command}, runs it and returns the exit status. */
    public static int execute(Object command, String[] args, PrintStream out, PrintStream err) {
        CommandLine cli = new CommandLine(command);
        String name = cli.getCommandName();
        cli.setOut(new PrintWriter(out, true));
        cli.setErr(new PrintWriter(err, true));
        cli.setParameterExceptionHandler((e, a) -> {
            err.println(name + ": " + e.getMessage() + " (--help lists the options)");
            return USAGE;
        });
        cli.setExecutionExceptionHandler((e, c, parsed) -> {
            if (e instanceof UserError user) {
                err.println(name + ": " + user.getMessage());
                return user.exitCode();
            }
            // Not the user's doing (a bug, an unexpected client error): one line still, the stack trace on request.
            err.println(name + ": " + e.getClass().getSimpleName() + ": " + e.getMessage());
            if (System.getenv("STREAMREC_DEBUG") != null) {
                e.printStackTrace(err);
            }
            return FAILED;
        });
        return cli.execute(args);
    }
}
