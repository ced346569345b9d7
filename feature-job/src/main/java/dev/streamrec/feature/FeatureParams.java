package dev.streamrec.feature;

import java.io.Serializable;
import java.util.EnumMap;
import java.util.Map;

import dev.streamrec.avro.ActionType;
import dev.streamrec.jobs.config.JobConfig;

/** The parameters of the feature computation, resolved once from the job config. */
public record FeatureParams(int maxTriggers, Map<ActionType, Double> weights, double ratingMidpoint, long halfLifeMs,
                            int maxPreferences) implements Serializable {

    public static FeatureParams from(JobConfig config) {
        return new FeatureParams(config.getInt(FeatureOptions.MAX_TRIGGERS),
                parseWeights(config.get(FeatureOptions.ACTION_WEIGHTS)), config.getDouble(FeatureOptions.RATING_MIDPOINT),
                config.getLong(FeatureOptions.HALF_LIFE_MS), config.getInt(FeatureOptions.MAX_PREFERENCES));
    }

    public static FeatureParams defaults() {
        return new FeatureParams(50, parseWeights(FeatureOptions.ACTION_WEIGHTS.defaultValue()), 2.5, 7L * 24 * 3600 * 1000, 100);
    }

    public FeatureParams withMaxTriggers(int n) {
        return new FeatureParams(n, weights, ratingMidpoint, halfLifeMs, maxPreferences);
    }

    static Map<ActionType, Double> parseWeights(String spec) {
        Map<ActionType, Double> w = new EnumMap<>(ActionType.class);
        for (String pair : spec.split(",")) {
            String[] kv = pair.strip().split("=");
            if (kv.length != 2) {
                throw new IllegalArgumentException("action weight '" + pair + "' is not ACTION=weight");
            }
            w.put(ActionType.valueOf(kv[0].strip()), Double.parseDouble(kv[1].strip()));
        }
        return w;
    }

    /** Signed weight of one action. RATE scales with how far the rating is from neutral. */
    public double weight(ActionType action, double value) {
        double base = weights.getOrDefault(action, 0.0);
        return action == ActionType.RATE ? base * (value - ratingMidpoint) / ratingMidpoint : base;
    }

    /** Exponential decay factor for an age in milliseconds (1 for age <= 0). */
    public double decay(long ageMs) {
        return ageMs <= 0 ? 1.0 : Math.pow(0.5, (double) ageMs / halfLifeMs);
    }
}
