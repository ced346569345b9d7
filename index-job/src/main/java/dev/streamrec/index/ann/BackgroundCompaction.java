package dev.streamrec.index.ann;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;

/**
 * One compaction off the index owner's thread: builds a new graph from a copy of the live items (items are
 * immutable) on an executor, while the owner keeps serving and updating its current graph. The owner logs the
 * updates it makes meanwhile; the task replays them on the new graph once built, and {@link #finish} replays what
 * was logged after that, when the owner swaps the graphs.
 */
final class BackgroundCompaction {

    private final ConcurrentLinkedQueue<Update> log = new ConcurrentLinkedQueue<>();
    private volatile boolean cancelled;
    private final CompletableFuture<HnswGraph> done;

    private BackgroundCompaction(List<IndexItem> live, int dimension, IndexParams params, Executor executor) {
        done = CompletableFuture.supplyAsync(() -> rebuild(live, dimension, params), executor);
    }

    /** Starts rebuilding from {@code live} on {@code executor}; null when the executor refuses the task. */
    static BackgroundCompaction start(List<IndexItem> live, int dimension, IndexParams params, Executor executor) {
        try {
            return new BackgroundCompaction(live, dimension, params, executor);
        } catch (RejectedExecutionException e) {
            return null;
        }
    }

    private HnswGraph rebuild(List<IndexItem> live, int dimension, IndexParams params) {
        HnswGraph fresh = HnswGraph.sizedFor(dimension, params, live.size());
        for (IndexItem item : live) {
            if (cancelled) {
                return null;
            }
            fresh.hnsw.add(item);
        }
        fresh.nodes = live.size();
        // catch up with the updates made meanwhile; finish() replays whatever is logged after this
        for (Update u = log.poll(); u != null && !cancelled; u = log.poll()) {
            u.applyTo(fresh);
        }
        return fresh;
    }

    void logUpsert(IndexItem item) {
        log.add(new Update(item, null, 0));
    }

    void logRemove(String itemId, long version) {
        log.add(new Update(null, itemId, version));
    }

    boolean isDone() {
        return done.isDone();
    }

    /** Waits until the task has ended, successfully or not ({@link #finish} reports a failure). */
    void await() {
        try {
            done.join();
        } catch (CompletionException e) {
            // reported by finish()
        }
    }

    /**
     * The new graph with every logged update applied; waits for the task if it still runs.
     *
     * @throws IllegalStateException when the rebuild failed
     */
    HnswGraph finish() {
        HnswGraph fresh;
        try {
            fresh = done.join();
        } catch (CompletionException e) {
            throw new IllegalStateException("background compaction failed; the index keeps its previous graph", e.getCause());
        }
        for (Update u = log.poll(); u != null; u = log.poll()) {
            u.applyTo(fresh);
        }
        return fresh;
    }

    /** The task stops at its next item; its graph is never used. */
    void cancel() {
        cancelled = true;
    }

    /** An update made while the compaction ran: an upsert ({@code item} set) or a remove. */
    private record Update(IndexItem item, String removeId, long removeVersion) {
        void applyTo(HnswGraph g) {
            if (item != null) {
                g.upsert(item);
            } else {
                g.remove(removeId, removeVersion);
            }
        }
    }
}
