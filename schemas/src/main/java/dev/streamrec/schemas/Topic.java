package dev.streamrec.schemas;

/** The pipeline's topics (the design's topic contract). Actual names are {@code prefix + baseName}. */
public enum Topic {
    USER_ACTIONS("user-actions", false),
    ITEM_EMBEDDINGS("item-embeddings", true),
    IMPRESSIONS("impressions", false),
    MODEL_VERSIONS("model-versions", true),
    USER_FEATURES("user-features", true),
    RECALL("recall", false),
    FRESH_RECALL("fresh-recall", false),
    RECALL_REFILLS("recall-refills", false),
    TRAINING_EXAMPLES("training-examples", false),
    DEAD_LETTERS("dead-letters", false);

    private final String baseName;
    private final boolean compacted;

    Topic(String baseName, boolean compacted) {
        this.baseName = baseName;
        this.compacted = compacted;
    }

    public String baseName() {
        return baseName;
    }

    /** Compacted topics keep the latest record per key (the key is the entity id), so a restarted reader gets current state. */
    public boolean compacted() {
        return compacted;
    }

    public String name(String prefix) {
        return (prefix == null ? "" : prefix) + baseName;
    }
}
