package dev.streamrec.index.ann;

import java.nio.charset.StandardCharsets;

/**
 * Which shard an item belongs to: MurmurHash3 (x86, 32-bit, seed 0) of the id's UTF-8 bytes, modulo the shard count.
 * Fixed by this code alone (not by {@code String.hashCode}, a JVM or a library version), so a shard's items stay the
 * same across restarts, rescaling and client processes. Changing it reshuffles every item: treat it as a state format.
 */
public final class Sharding {

    private Sharding() {
    }

    /** The shard of {@code itemId}, in {@code [0, shards)}. */
    public static int shardOf(String itemId, int shards) {
        if (shards < 1) {
            throw new IllegalArgumentException("shards must be positive: " + shards);
        }
        return Math.floorMod(hash(itemId), shards);
    }

    /** A 32-bit hash of an item id, the one sharding uses. */
    public static int hash(String itemId) {
        return murmur3(itemId.getBytes(StandardCharsets.UTF_8), 0);
    }

    /** MurmurHash3_x86_32 (the reference algorithm; Guava's {@code murmur3_32_fixed} gives the same values). */
    static int murmur3(byte[] data, int seed) {
        final int c1 = 0xcc9e2d51;
        final int c2 = 0x1b873593;
        int h = seed;
        int len = data.length;
        int blocks = len & ~3;
        for (int i = 0; i < blocks; i += 4) {
            int k = (data[i] & 0xff) | (data[i + 1] & 0xff) << 8 | (data[i + 2] & 0xff) << 16 | (data[i + 3] & 0xff) << 24;
            k *= c1;
            k = Integer.rotateLeft(k, 15);
            k *= c2;
            h ^= k;
            h = Integer.rotateLeft(h, 13);
            h = h * 5 + 0xe6546b64;
        }
        int k = 0;
        switch (len & 3) {
            case 3:
                k ^= (data[blocks + 2] & 0xff) << 16;
                // fall through
            case 2:
                k ^= (data[blocks + 1] & 0xff) << 8;
                // fall through
            case 1:
                k ^= data[blocks] & 0xff;
                k *= c1;
                k = Integer.rotateLeft(k, 15);
                k *= c2;
                h ^= k;
                break;
            default:
                break;
        }
        h ^= len;
        h ^= h >>> 16;
        h *= 0x85ebca6b;
        h ^= h >>> 13;
        h *= 0xc2b2ae35;
        h ^= h >>> 16;
        return h;
    }
}
