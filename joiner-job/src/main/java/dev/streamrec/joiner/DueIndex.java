package dev.streamrec.joiner;

import java.util.Arrays;

/**
 * The join's event-time timers: which key has work due when, on the heap, earliest first. It is derived from the
 * keyed state (every key with state has an entry at its {@link KeyJoin#nextDue}), so it is never checkpointed: a
 * restore rebuilds it from the keys it got. An entry whose key's next due work moved is stale; the operator skips
 * it when it comes up, so nothing is ever removed from the middle.
 *
 * <p>A 4-ary min-heap on a {@code long[]} of due times beside the array of keys, not {@link java.util.PriorityQueue}:
 * in a profile of the benchmark, sifting a million entry objects through a comparator (a cache miss per level) was
 * a fifth of the join threads' samples; comparing longs in one array takes a fraction of that, and four children
 * side by side in one cache line halve the levels a poll goes down. The JDK has no heap of primitives with a
 * payload, and this is all of it.
 */
final class DueIndex {
    private long[] dues = new long[1024];
    private String[] keys = new String[1024];
    private int size;

    void add(long due, String key) {
        if (size == dues.length) {
            dues = Arrays.copyOf(dues, size * 2);
            keys = Arrays.copyOf(keys, size * 2);
        }
        int i = size++;
        while (i > 0) {
            int parent = (i - 1) >>> 2;
            if (dues[parent] <= due) {
                break;
            }
            dues[i] = dues[parent];
            keys[i] = keys[parent];
            i = parent;
        }
        dues[i] = due;
        keys[i] = key;
    }

    /** Whether the earliest entry is due at or before {@code time}. */
    boolean hasDue(long time) {
        return size > 0 && dues[0] <= time;
    }

    /** The earliest entry's time; call only when {@link #hasDue} said so. */
    long earliest() {
        return dues[0];
    }

    /** Removes the earliest entry and returns its key; call only when {@link #hasDue} said so. */
    String poll() {
        String head = keys[0];
        int last = --size;
        long due = dues[last];
        String key = keys[last];
        keys[last] = null;
        int i = 0;
        while (true) {
            long firstChild = 4L * i + 1; // long: no overflow however large the heap
            if (firstChild >= last) {
                break;
            }
            int first = (int) firstChild;
            int child = first;
            int end = Math.min(first + 4, last);
            for (int c = first + 1; c < end; c++) {
                if (dues[c] < dues[child]) {
                    child = c;
                }
            }
            if (due <= dues[child]) {
                break;
            }
            dues[i] = dues[child];
            keys[i] = keys[child];
            i = child;
        }
        if (last > 0) {
            dues[i] = due;
            keys[i] = key;
        }
        return head;
    }

    int size() {
        return size;
    }
}
