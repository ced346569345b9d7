package dev.streamrec.joiner;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.PriorityQueue;
import java.util.Random;

import org.junit.jupiter.api.Test;

class DueIndexTest {
    @Test
    void keysComeOutEarliestFirstAndOnlyOnceDue() {
        DueIndex index = new DueIndex();
        index.add(30, "c");
        index.add(10, "a");
        index.add(20, "b");
        index.add(10, "a");      // a second entry for a key is kept: the operator skips the stale one
        assertThat(index.hasDue(9)).isFalse();
        List<String> due = new ArrayList<>();
        while (index.hasDue(20)) {
            due.add(index.earliest() + ":" + index.poll());
        }
        assertThat(due).containsExactly("10:a", "10:a", "20:b");
        assertThat(index.size()).isEqualTo(1);
        assertThat(index.hasDue(Long.MAX_VALUE)).isTrue();
        index.poll();
        assertThat(index.hasDue(Long.MAX_VALUE)).isFalse();  // the final watermark on an empty index
    }

    @Test
    void pollsInTheOrderOfAReferenceQueue() {
        DueIndex index = new DueIndex();
        PriorityQueue<Long> reference = new PriorityQueue<>();
        Random random = new Random(7);
        long watermark = 0;
        for (int round = 0; round < 2_000; round++) {
            for (int k = random.nextInt(20); k > 0; k--) {
                long due = watermark + 1 + random.nextInt(5_000);
                index.add(due, "k" + due);
                reference.add(due);
            }
            watermark += random.nextInt(40);
            while (index.hasDue(watermark)) {
                long due = index.earliest();
                assertThat(index.poll()).isEqualTo("k" + due);
                assertThat(reference.poll()).isEqualTo(due);
            }
            assertThat(reference.isEmpty() || reference.peek() > watermark).isTrue();
            assertThat(index.size()).isEqualTo(reference.size());
        }
    }
}
