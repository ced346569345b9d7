package dev.streamrec.client;

import java.io.PrintStream;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

import dev.streamrec.avro.RecallResult;
import dev.streamrec.avro.UserFeatures;
import dev.streamrec.schemas.QueryableStates;

/**
 * The query command ({@code bin/query}): prints one user's recall, fresh recall or features, read through
 * {@link RecallClient} from the running job.
 */
public final class QueryCli {
    static final int FOUND = 0;
    static final int NO_VALUE = 1;
    static final int NO_ANSWER = 2;
    static final int USAGE = 64;

    static final String HELP = String.join("\n",
            "Usage: bin/query COMMAND --user USER [options]",
            "",
            "Reads one user's value from a running job's queryable state: the job is found by name through the Flink",
            "REST API, the value read through the queryable state proxy (retrying while the job restarts).",
            "",
            "Commands:",
            "  recall         the user's recall: index-job's state 'recall' (model version, times, one line per",
            "                 candidate: rank, item id, score, channel u2i or i2i)",
            "  fresh-recall   the user's recall without what was shown, as a feed server reads it: dedup-job's state",
            "                 'fresh-recall', or, when that is missing or older than index-job's 'recall', the latest",
            "                 recall filtered by the user's 'seen' set (the first line says which answered)",
            "  seen           whether the user has seen --item ITEM, and until when it counts: dedup-job's state 'seen'",
            "  features       the user's trigger features: feature-job's state 'user-features'",
            "",
            "Candidate order: the served order, not one score order: " + wrap(ServingText.CANDIDATE_ORDER),
            "",
            "User ids: the local stack's generator has users u0, u1, ... (items i0, i1, ...); its MovieLens replay",
            "(bin/run-local --movielens DIR) has u<userId> (items m<movieId>), e.g. u1, m318.",
            "",
            "Options:",
            "  --user USER          user id (required)",
            "  --item ITEM          item id (seen: required)",
            "  --rest URL           Flink REST address (default " + RecallClient.DEFAULT_REST + ")",
            "  --proxy HOST:PORT    queryable state proxy (default " + RecallClient.DEFAULT_PROXY_HOST + ":"
                    + RecallClient.DEFAULT_PROXY_PORT + ")",
            "  --job NAME           the job publishing the state (default: index-job, dedup-job, feature-job)",
            "  --timeout-ms N       deadline of the lookup, retries included (default "
                    + RecallClient.DEFAULT_TIMEOUT.toMillis() + "); it ends at once when nothing",
            "                       listens at the REST address",
            "  --limit N            candidates to print, 0 = all (default 0)",
            "  --help               this text",
            "",
            "Exit status: 0 printed; 1 the user has no value (yet); 2 no answer before the deadline (no running job",
            "of that name, the job restarting, Flink or the proxy unreachable); 64 bad usage.");

    private static final List<String> COMMANDS = List.of("recall", "fresh-recall", "seen", "features");
    private static final List<String> OPTIONS = List.of("user", "item", "rest", "proxy", "job", "timeout-ms", "limit");

    /** Shown when the user has no value: most misses are an id of the other data set's form. */
    static final String ID_HINT = "user ids: u0, u1, ... from the demo generator; u<userId> (e.g. u1) from the MovieLens "
            + "replay; a user has a value once the job has processed one of their actions";

    private QueryCli() {}

    /** Continues a help line: breaks {@code text} into lines of at most 100 characters, indented by two spaces. */
    private static String wrap(String text) {
        StringBuilder out = new StringBuilder();
        int lineLength = "Candidate order: the served order, not one score order: ".length();
        for (String word : text.split(" ")) {
            if (lineLength + word.length() + 1 > 100) {
                out.append("\n ");
                lineLength = 1;
            }
            out.append(out.length() == 0 ? "" : " ").append(word);
            lineLength += word.length() + 1;
        }
        return out.toString();
    }

    public static void main(String[] args) {
        System.exit(run(args, System.out, System.err));
    }

    /** Runs one bin/query command line; returns its exit status (the operator CLI runs it as "streamrec query"). */
    public static int run(String[] args, PrintStream out, PrintStream err) {
        String command = null;
        Map<String, String> options = new LinkedHashMap<>();
        try {
            for (int i = 0; i < args.length; i++) {
                String arg = args[i];
                if (arg.equals("--help") || arg.equals("-h") || arg.equals("help")) {
                    out.println(HELP);
                    return FOUND;
                }
                if (!arg.startsWith("--")) {
                    if (command != null || !COMMANDS.contains(arg)) {
                        throw new IllegalArgumentException("unknown command '" + arg + "' (one of " + COMMANDS + ")");
                    }
                    command = arg;
                    continue;
                }
                String key = arg.substring(2);
                String value = null;
                int eq = key.indexOf('=');
                if (eq >= 0) {
                    value = key.substring(eq + 1);
                    key = key.substring(0, eq);
                } else if (i + 1 < args.length) {
                    value = args[++i];
                }
                if (!OPTIONS.contains(key)) {
                    throw new IllegalArgumentException("unknown option --" + key);
                }
                if (value == null || value.isBlank()) {
                    throw new IllegalArgumentException("--" + key + " needs a value");
                }
                options.put(key, value);
            }
            if (command == null) {
                throw new IllegalArgumentException("no command given (one of " + COMMANDS + ")");
            }
            if (!options.containsKey("user")) {
                throw new IllegalArgumentException("--user is required");
            }
            if (command.equals("seen") && !options.containsKey("item")) {
                throw new IllegalArgumentException("seen needs --item");
            }
            return query(command, options, out, err);
        } catch (IllegalArgumentException e) {
            err.println("query: " + e.getMessage());
            err.println("Run 'bin/query --help' for the options.");
            return USAGE;
        }
    }

    private static int query(String command, Map<String, String> options, PrintStream out, PrintStream err) {
        String user = options.get("user");
        Duration timeout = Duration.ofMillis(number(options, "timeout-ms", RecallClient.DEFAULT_TIMEOUT.toMillis()));
        int limit = (int) number(options, "limit", 0);
        RecallClient.Builder builder = RecallClient.builder().rest(options.getOrDefault("rest", RecallClient.DEFAULT_REST))
                .timeout(timeout).giveUpWhenRefused(true);
        if (options.containsKey("proxy")) {
            builder.proxy(options.get("proxy"));
        }
        String job = options.get("job");
        // "now" is taken after each lookup: the value read is never younger than the clock the ages are counted from.
        try (RecallClient client = builder.build()) {
            // Only the target read is built: each descriptor's type information costs start-up time.
            if (command.equals("features")) {
                QueryTarget<UserFeatures> target = job == null ? QueryTarget.userFeatures()
                        : new QueryTarget<>(job, QueryableStates.userFeatures());
                Lookup<UserFeatures> lookup = client.lookup(target, user, timeout);
                long now = System.currentTimeMillis();
                return print(lookup, out, err, f -> ServingText.features(f, now));
            }
            if (command.equals("seen")) {
                SeenAnswer answer = client.seen(user, options.get("item"));
                long now = System.currentTimeMillis();
                if (answer.lookup().outcome() == Lookup.Outcome.DEADLINE_PASSED) {
                    return print(answer.lookup(), out, err, x -> List.of());
                }
                out.println("user " + user + ": seen of job " + answer.lookup().target().jobName()
                        + (answer.lookup().jobId() == null ? "" : " (" + answer.lookup().jobId() + ")"));
                ServingText.seen(answer, now).forEach(out::println);
                return FOUND;
            }
            if (command.equals("fresh-recall") && job == null) {
                FeedRecall feed = client.feedRecall(user);
                long now = System.currentTimeMillis();
                if (!feed.found()) {
                    Lookup<RecallResult> failed = feed.fresh().outcome() == Lookup.Outcome.DEADLINE_PASSED ? feed.fresh() : feed.latest();
                    return print(failed, out, err, r -> List.of());
                }
                out.println("user " + user + ": " + (feed.source() == FeedRecall.Source.FRESH_RECALL
                        ? "fresh-recall of job " + feed.fresh().target().jobName() + " (" + feed.fresh().jobId() + ")"
                        : "recall of job " + feed.latest().target().jobName() + " filtered by seen (fresh-recall: "
                                + feed.fresh().describe() + ")"));
                ServingText.recall(feed.result(), limit, now).forEach(out::println);
                return FOUND;
            }
            QueryTarget<RecallResult> target = command.equals("fresh-recall") ? QueryTarget.freshRecall() : QueryTarget.recall();
            if (job != null) {
                target = QueryTarget.recall(job, target.stateName());
            }
            Lookup<RecallResult> lookup = client.lookup(target, user, timeout);
            long now = System.currentTimeMillis();
            return print(lookup, out, err, r -> ServingText.recall(r, limit, now));
        } catch (java.net.UnknownHostException e) {
            err.println("query: unknown proxy host: " + e.getMessage());
            return NO_ANSWER;
        }
    }

    private static <T> int print(Lookup<T> lookup, PrintStream out, PrintStream err, Function<T, List<String>> lines) {
        switch (lookup.outcome()) {
            case FOUND:
                out.println("user " + lookup.key() + ": " + lookup.target().stateName() + " of job "
                        + lookup.target().jobName() + " (" + lookup.jobId() + ")");
                lines.apply(lookup.value()).forEach(out::println);
                return FOUND;
            case NO_VALUE:
                err.println("query: " + lookup.describe());
                err.println("query: " + ID_HINT);
                return NO_VALUE;
            default:
                err.println("query: " + lookup.describe());
                return NO_ANSWER;
        }
    }

    private static long number(Map<String, String> options, String key, long defaultValue) {
        String v = options.get(key);
        if (v == null) {
            return defaultValue;
        }
        try {
            long n = Long.parseLong(v.strip());
            if (n < 0) {
                throw new NumberFormatException();
            }
            return n;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--" + key + " takes a whole number >= 0, got '" + v + "'");
        }
    }
}
