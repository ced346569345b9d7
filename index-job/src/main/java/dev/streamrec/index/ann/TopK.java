package dev.streamrec.index.ann;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.PriorityQueue;
import java.util.Set;

/** Merging per-shard answers. */
public final class TopK {

    /** Best first: higher score, then smaller item id (so merged results do not depend on shard order). */
    public static final Comparator<Neighbor> BEST_FIRST =
            Comparator.comparingDouble((Neighbor n) -> -n.score()).thenComparing(Neighbor::itemId);

    private TopK() {
    }

    /**
     * The best {@code k} of several best-first lists (each shard's answer), best first; an id that appears in more
     * than one list is kept once, with its best score. A k-way merge: O(k log shards).
     */
    public static List<Neighbor> mergeTopK(List<List<Neighbor>> perShard, int k) {
        if (k <= 0 || perShard.isEmpty()) {
            return List.of();
        }
        PriorityQueue<Cursor> heap = new PriorityQueue<>(perShard.size(), (a, b) -> BEST_FIRST.compare(a.head, b.head));
        for (List<Neighbor> list : perShard) {
            if (list != null && !list.isEmpty()) {
                heap.add(new Cursor(list));
            }
        }
        List<Neighbor> out = new ArrayList<>(k);
        Set<String> seen = new HashSet<>();
        while (out.size() < k && !heap.isEmpty()) {
            Cursor c = heap.poll();
            if (seen.add(c.head.itemId())) {
                out.add(c.head);
            }
            if (c.advance()) {
                heap.add(c);
            }
        }
        return out;
    }

    private static final class Cursor {
        final List<Neighbor> list;
        int pos;
        Neighbor head;

        Cursor(List<Neighbor> list) {
            this.list = list;
            this.head = list.get(0);
        }

        boolean advance() {
            if (++pos < list.size()) {
                head = list.get(pos);
                return true;
            }
            return false;
        }
    }
}
