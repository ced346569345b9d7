package dev.streamrec.index.ann;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;

import org.junit.jupiter.api.Test;

class ShardingTest {

    @Test
    void murmur3MatchesTheReferenceValues() {
        // MurmurHash3_x86_32, seed 0, of the UTF-8 bytes (the same values as Guava's murmur3_32_fixed)
        assertThat(murmur("")).isEqualTo(0);
        assertThat(murmur("a")).isEqualTo(0x3c2569b2);
        assertThat(murmur("ab")).isEqualTo(0x9bbfd75f);
        assertThat(murmur("abc")).isEqualTo(0xb3dd93fa);
        assertThat(murmur("hello")).isEqualTo(0x248bfa47);
        assertThat(murmur("hello, world")).isEqualTo(0x149bbb7f);
        assertThat(murmur("The quick brown fox jumps over the lazy dog")).isEqualTo(0x2e4ff723);
        assertThat(murmur("i12345")).isEqualTo(0x8997d4ca);
        assertThat(murmur("ünïcödé-商品")).isEqualTo(0xd95fe306);
    }

    private static int murmur(String s) {
        return Sharding.murmur3(s.getBytes(StandardCharsets.UTF_8), 0);
    }

    @Test
    void shardsAreStableInRangeAndEven() {
        // pinned: a change here moves items between shards of existing state
        assertThat(Sharding.shardOf("i1", 8)).isEqualTo(Math.floorMod(0xbee41677, 8));
        assertThat(Sharding.shardOf("i12345", 8)).isEqualTo(Math.floorMod(0x8997d4ca, 8));
        int[] counts = new int[8];
        for (int i = 0; i < 80_000; i++) {
            int s = Sharding.shardOf(ClusteredVectors.itemId(i), 8);
            assertThat(s).isBetween(0, 7);
            counts[s]++;
        }
        for (int c : counts) {
            assertThat(c).isBetween(9_500, 10_500);
        }
        assertThat(Sharding.shardOf("anything", 1)).isZero();
        assertThatThrownBy(() -> Sharding.shardOf("x", 0)).isInstanceOf(IllegalArgumentException.class);
    }
}
