package dev.streamrec.jobs;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.apache.flink.api.common.state.BroadcastState;
import org.apache.flink.api.common.state.MapStateDescriptor;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;

import dev.streamrec.avro.ModelPhase;
import dev.streamrec.avro.ModelVersion;

/**
 * What the jobs know of model versions: the latest control event per version (broadcast state; a replayed older event
 * never overwrites a newer one), and the rules that follow from it. Vectors of different versions are never compared:
 * every request names one version.
 *
 * <p>A version's dimension, once declared (by any of its events, LOADING or SERVING), is kept for the version's life:
 * a later event without one keeps it, and an event that declares a different one is refused ({@link #conflict}). Every
 * operator applies the same rule to the same broadcast events, so all agree on each version's dimension.
 */
public final class ModelVersions {
    /** Broadcast state: version -> its latest control event. */
    public static final MapStateDescriptor<String, ModelVersion> STATE =
            new MapStateDescriptor<>("model-versions", Types.STRING, TypeInformation.of(ModelVersion.class));

    private ModelVersions() {}

    /** Whether {@code event} is newer than what is known of its version (control events may be replayed). */
    public static boolean isNewer(ModelVersion known, ModelVersion event) {
        return known == null || event.getEventTime() >= known.getEventTime();
    }

    /**
     * Records a control event in broadcast state unless a newer one of its version is known or it contradicts the
     * version's declared dimension; true if recorded. The stored event keeps the dimension declared before.
     */
    public static boolean remember(BroadcastState<String, ModelVersion> state, ModelVersion event) throws Exception {
        ModelVersion known = state.get(event.getVersion());
        if (!isNewer(known, event) || conflict(known, event) != null) {
            return false;
        }
        state.put(event.getVersion(), merged(known, event));
        return true;
    }

    /** The event as stored: with the dimension its version declared before when it declares none itself. */
    static ModelVersion merged(ModelVersion known, ModelVersion event) {
        ModelVersion stored = ModelVersion.newBuilder(event).build();
        if (stored.getDimension() == null && known != null) {
            stored.setDimension(known.getDimension());
        }
        return stored;
    }

    /** Why {@code event} cannot be taken, if it declares a dimension other than the one its version has; else null. */
    public static String conflict(ModelVersion known, ModelVersion event) {
        if (known == null || known.getDimension() == null || event.getDimension() == null
                || known.getDimension().equals(event.getDimension())) {
            return null;
        }
        return "model version " + event.getVersion() + " declares dimension " + event.getDimension()
                + " but was declared with dimension " + known.getDimension() + " (a version keeps its dimension)";
    }

    /**
     * The version a user's recall uses: the most recently switched-to SERVING version the user has a vector of. A user
     * without a vector of the newest serving version stays on the previous one until feature-job gives them one.
     * With no SERVING event yet, the configured initial version serves. Returns the newest serving version when the
     * user has a vector of none of them (their recall then has only the i2i channel).
     */
    public static String servingVersionFor(Iterable<Map.Entry<String, ModelVersion>> known, String initialServing,
                                           Set<String> userVersions) {
        List<ModelVersion> serving = new ArrayList<>();
        boolean initialRetired = false;
        for (Map.Entry<String, ModelVersion> e : known) {
            ModelVersion m = e.getValue();
            if (m.getPhase() == ModelPhase.SERVING) {
                serving.add(m);
            }
            if (m.getVersion().equals(initialServing) && m.getPhase() == ModelPhase.RETIRED) {
                initialRetired = true;
            }
        }
        serving.sort(Comparator.comparingLong(ModelVersion::getEventTime).reversed().thenComparing(ModelVersion::getVersion));
        List<String> order = new ArrayList<>();
        for (ModelVersion m : serving) {
            order.add(m.getVersion());
        }
        if (!initialRetired && !order.contains(initialServing)) {
            order.add(initialServing); // served before any SERVING event: the oldest fallback
        }
        for (String v : order) {
            if (userVersions.contains(v)) {
                return v;
            }
        }
        return order.isEmpty() ? initialServing : order.get(0);
    }

    /** The declared dimension of a version, else the default. */
    public static int dimensionOf(ModelVersion known, int defaultDimension) {
        return known != null && known.getDimension() != null ? known.getDimension() : defaultDimension;
    }
}
