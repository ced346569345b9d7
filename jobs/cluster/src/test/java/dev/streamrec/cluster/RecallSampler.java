package dev.streamrec.cluster;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

import dev.streamrec.avro.RecallResult;
import dev.streamrec.client.QueryTarget;

/**
 * Looks up the recall of fixed users continuously (through any TaskManager's proxy, as {@link ClusterDrills#lookup}
 * does) and records every lookup that found none or an empty one, and the model versions the answers came from.
 */
final class RecallSampler implements AutoCloseable {
    final List<String> empty = Collections.synchronizedList(new ArrayList<>());
    final Set<String> versions = ConcurrentHashMap.newKeySet();
    final AtomicLong lookups = new AtomicLong();
    private volatile boolean running = true;
    private final Thread thread;

    RecallSampler(ClusterDrills drills, List<String> users) {
        thread = new Thread(() -> {
            while (running) {
                for (String user : users) {
                    try {
                        RecallResult r = drills.lookup(QueryTarget.recall(), user, x -> true);
                        lookups.incrementAndGet();
                        if (r == null || r.getCandidates().isEmpty()) {
                            empty.add(user + " at " + System.currentTimeMillis() + (r == null ? " (none)" : " (empty)"));
                        } else {
                            versions.add(r.getModelVersion());
                        }
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            }
        }, "recall-sampler");
        thread.setDaemon(true);
        thread.start();
    }

    void stop() throws InterruptedException {
        running = false;
        thread.join(60_000);
    }

    @Override
    public void close() throws InterruptedException {
        stop();
    }
}
