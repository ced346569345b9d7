package dev.streamrec.joiner;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;

import org.apache.avro.specific.SpecificRecordBase;

import com.google.common.hash.HashFunction;
import com.google.common.hash.Hashing;

import dev.streamrec.avro.HeldImpression;
import dev.streamrec.avro.Impression;
import dev.streamrec.avro.JoinState;
import dev.streamrec.avro.PackedImpression;
import dev.streamrec.avro.TrainingExample;
import dev.streamrec.avro.UserAction;
import dev.streamrec.jobs.io.Rejection;

/**
 * The join of one (user, item) key in event time, on the key's {@link JoinState}; no Flink in here, so every rule is
 * testable alone. Everything is decided by event times and the watermark, never by arrival order:
 * <ul>
 *   <li>An action waits until the watermark passes its time (every impression before it has arrived by then), then
 *   joins the impression its requestId names, or else the latest impression of the item before it.</li>
 *   <li>An action before its impression's time + window is a label of it; the window closes when the watermark passes
 *   that time and the impression's one example is emitted (a negative only if the sampler keeps it).</li>
 *   <li>A positive action after the window, within the allowed lateness, emits a late positive of a negative
 *   impression (once). At time + window + allowed lateness the impression is forgotten.</li>
 * </ul>
 * Due work at one instant runs window closes first, then actions, then clean-ups: an action exactly at the window's
 * end is after it, one exactly at the lateness end is beyond it.
 */
final class KeyJoin {
    static final int OPEN = 0;
    static final int CLOSED_NEGATIVE = 1;
    static final int CLOSED_POSITIVE = 2;
    static final int LATE_POSITIVE_DONE = 3;
    static final String LATE_SUFFIX = ":late";

    private static final HashFunction MURMUR3 = Hashing.murmur3_128();
    private static final ByteBuffer NO_BYTES = ByteBuffer.allocate(0);

    /** What the join reports besides examples: the metrics count these. */
    enum Count {
        OPENED, POSITIVE, NEGATIVE_KEPT, NEGATIVE_DROPPED, LATE_POSITIVE, LATE_POSITIVE_DROPPED, UNMATCHED_ACTION,
        ACTION_AFTER_CLOSE, DUPLICATE_IMPRESSION, DUPLICATE_ACTION, CLEARED
    }

    /** Where the join's results go. */
    interface Output {
        void emit(TrainingExample example);

        /** A record that cannot be used (to dead letters); userId and itemId are set again. */
        void reject(SpecificRecordBase record, Rejection why);

        void count(Count what);

        /** Processing time, for {@code joinedAt}. */
        long now();
    }

    private final JoinerSettings settings;

    KeyJoin(JoinerSettings settings) {
        this.settings = settings;
    }

    static JoinState emptyState() {
        // A builder, not the all-fields constructor: a build whose JoinState has more fields still runs this.
        return JoinState.newBuilder().setImpressions(new ArrayList<>()).setPending(new ArrayList<>()).setTimer(0L).build();
    }

    static boolean isEmpty(JoinState state) {
        return state.getImpressions().isEmpty() && state.getPending().isEmpty();
    }

    /** 64 bits of the id's murmur3_128: the duplicate checks and the sampler use it. */
    static long hash(String id) {
        return MURMUR3.hashString(id, StandardCharsets.UTF_8).asLong();
    }

    /** Whether a negative is kept at rate r: a uniform [0, 1) draw from its impressionId, so a replay keeps the same ones. */
    static boolean keepsNegative(String impressionId, double rate) {
        return keepsNegative(hash(impressionId), rate);
    }

    /** {@link #keepsNegative(String, double)} from the impressionId's {@link #hash}. */
    static boolean keepsNegative(long impressionHash, double rate) {
        if (rate >= 1) {
            return true;
        }
        double u = (impressionHash >>> 11) * 0x1.0p-53;
        return u < rate;
    }

    void onImpression(JoinState state, PackedImpression impression, long watermark, Output out) {
        long id = impression.getImpressionHash();
        for (HeldImpression held : state.getImpressions()) {
            if (held.getImpressionHash() == id) {
                out.count(Count.DUPLICATE_IMPRESSION);
                return;
            }
        }
        long end = impression.getEventTime() + settings.windowMs();
        if (end <= watermark) {
            Impression late = ImpressionPacker.unpack(impression.getPacked(), impression.getUserId(), impression.getItemId());
            out.reject(late, new Rejection(Rejection.LATE_EVENT, "impression " + late.getImpressionId()
                    + " at " + late.getEventTime() + " came after its join window closed (watermark " + watermark + ")"));
            return;
        }
        state.getImpressions().add(new HeldImpression(null, impression.getPacked(), id, impression.getRequestHash(),
                impression.getEventTime(), OPEN, false, new HashMap<>(), new HashMap<>(), new HashMap<>(), null, NO_BYTES));
        out.count(Count.OPENED);
    }

    void onAction(JoinState state, String userId, String itemId, UserAction action, long watermark, Output out) {
        if (action.getEventTime() + settings.windowMs() + settings.allowedLatenessMs() <= watermark) {
            out.reject(action, new Rejection(Rejection.LATE_EVENT, "action " + action.getEventId() + " at "
                    + action.getEventTime() + " came more than the join window and allowed lateness behind the watermark ("
                    + watermark + ")"));
            return;
        }
        UserAction stored = UserAction.newBuilder(action).setUserId("").setItemId("").build();
        if (action.getEventTime() <= watermark) {
            decide(state, userId, itemId, stored, out);
        } else {
            state.getPending().add(stored);
        }
    }

    /** Does everything due at or before the watermark, in event-time order. */
    void advance(JoinState state, String userId, String itemId, long watermark, Output out) {
        while (true) {
            HeldImpression dueImpression = null;
            long dueImpressionAt = Long.MAX_VALUE;
            for (HeldImpression held : state.getImpressions()) {
                long at = dueAt(held);
                // Closes (at the window end) sort before clean-ups at the same instant, ties by id.
                if (at < dueImpressionAt || (at == dueImpressionAt && before(held, dueImpression))) {
                    dueImpression = held;
                    dueImpressionAt = at;
                }
            }
            UserAction dueAction = null;
            for (UserAction action : state.getPending()) {
                if (dueAction == null || action.getEventTime() < dueAction.getEventTime()
                        || (action.getEventTime() == dueAction.getEventTime()
                            && action.getEventId().compareTo(dueAction.getEventId()) < 0)) {
                    dueAction = action;
                }
            }
            long dueActionAt = dueAction == null ? Long.MAX_VALUE : dueAction.getEventTime();
            boolean impressionFirst = dueImpression != null && (dueImpressionAt < dueActionAt
                    || (dueImpressionAt == dueActionAt && dueImpression.getStatus() == OPEN));
            if (impressionFirst && dueImpressionAt <= watermark) {
                if (dueImpression.getStatus() == OPEN) {
                    close(dueImpression, userId, itemId, out);
                } else {
                    // By index: the list Avro decodes (GenericData.Array) has no remove(Object).
                    state.getImpressions().remove(state.getImpressions().indexOf(dueImpression));
                    out.count(Count.CLEARED);
                }
            } else if (dueAction != null && dueActionAt <= watermark) {
                state.getPending().remove(state.getPending().indexOf(dueAction));
                decide(state, userId, itemId, dueAction, out);
            } else {
                return;
            }
        }
    }

    /**
     * The event time the key needs a timer for: its earliest due work (Long.MAX_VALUE: none). A pending action needs no
     * timer of its own while an open impression closes at or after its time and no closed negative could take it as a
     * late positive: it is decided at that close, in event-time order before it, with the same result (the common
     * case, an action in its impression's window, then costs no timer writes).
     */
    long nextDue(JoinState state) {
        long next = Long.MAX_VALUE;
        boolean lateTargets = false;
        for (HeldImpression held : state.getImpressions()) {
            next = Math.min(next, dueAt(held));
            lateTargets |= held.getStatus() == CLOSED_NEGATIVE;
        }
        for (UserAction action : state.getPending()) {
            next = Math.min(next, lateTargets ? action.getEventTime() : coveringClose(state, action.getEventTime()));
        }
        return next;
    }

    /** The earliest window end at or after {@code time} of an open impression, else {@code time} itself. */
    private long coveringClose(JoinState state, long time) {
        long covering = Long.MAX_VALUE;
        for (HeldImpression held : state.getImpressions()) {
            long end = held.getEventTime() + settings.windowMs();
            if (held.getStatus() == OPEN && end >= time) {
                covering = Math.min(covering, end);
            }
        }
        return covering == Long.MAX_VALUE ? time : covering;
    }

    /** Impressions whose window is still open. */
    static int openImpressions(JoinState state) {
        int open = 0;
        for (HeldImpression held : state.getImpressions()) {
            open += held.getStatus() == OPEN ? 1 : 0;
        }
        return open;
    }

    private long dueAt(HeldImpression held) {
        long end = held.getEventTime() + settings.windowMs();
        return held.getStatus() == OPEN ? end : end + settings.allowedLatenessMs();
    }

    private static boolean before(HeldImpression a, HeldImpression b) {
        if (b == null) {
            return true;
        }
        if ((a.getStatus() == OPEN) != (b.getStatus() == OPEN)) {
            return a.getStatus() == OPEN;
        }
        return a.getImpressionHash() < b.getImpressionHash();
    }

    private void decide(JoinState state, String userId, String itemId, UserAction action, Output out) {
        HeldImpression match = match(state, action);
        if (match == null) {
            out.count(Count.UNMATCHED_ACTION);
            return;
        }
        long eventHash = hash(action.getEventId());
        ByteBuffer hashes = match.getActionHashes();
        for (int i = hashes.position(); i + Long.BYTES <= hashes.limit(); i += Long.BYTES) {
            if (hashes.getLong(i) == eventHash) {
                out.count(Count.DUPLICATE_ACTION);
                return;
            }
        }
        match.setActionHashes(append(hashes, eventHash));
        long end = match.getEventTime() + settings.windowMs();
        if (action.getEventTime() >= end + settings.allowedLatenessMs()) {
            action.setUserId(userId);
            action.setItemId(itemId);
            out.reject(action, new Rejection(Rejection.LATE_EVENT, "action " + action.getEventId() + " at "
                    + action.getEventTime() + " is beyond the allowed lateness of its impression at " + match.getEventTime()));
            return;
        }
        boolean positive = settings.isPositive(action);
        if (match.getStatus() == OPEN) {
            label(match, action, positive);
        } else if (positive && match.getStatus() == CLOSED_NEGATIVE) {
            latePositive(match, userId, itemId, action, out);
        } else {
            out.count(Count.ACTION_AFTER_CLOSE);
        }
    }

    /** The impression the action joins: the one its requestId names, else the latest of the item before it. */
    private static HeldImpression match(JoinState state, UserAction action) {
        Long request = action.getRequestId() == null ? null : hash(action.getRequestId());
        HeldImpression best = null;
        for (HeldImpression held : state.getImpressions()) {
            if (held.getEventTime() > action.getEventTime() || (request != null && held.getRequestHash() != request)) {
                continue;
            }
            if (best == null || held.getEventTime() > best.getEventTime()
                    || (held.getEventTime() == best.getEventTime() && held.getImpressionHash() > best.getImpressionHash())) {
                best = held;
            }
        }
        return best;
    }

    private static void label(HeldImpression held, UserAction action, boolean positive) {
        String type = action.getAction().name();
        held.getLabels().merge(type, 1, Integer::sum);
        Long valueTime = held.getValueTimes().get(type);
        double value = action.getValue();
        // The latest action's value (ties: the larger), whatever order the actions were decided in.
        if (valueTime == null || action.getEventTime() > valueTime
                || (action.getEventTime() == valueTime && value > held.getValues().get(type))) {
            held.getValues().put(type, value);
            held.getValueTimes().put(type, action.getEventTime());
        }
        if (held.getFirstActionTime() == null || action.getEventTime() < held.getFirstActionTime()) {
            held.setFirstActionTime(action.getEventTime());
        }
        held.setPositive(held.getPositive() || positive);
    }

    private void close(HeldImpression held, String userId, String itemId, Output out) {
        if (held.getPositive()) {
            held.setStatus(CLOSED_POSITIVE);
            out.count(Count.POSITIVE);
            out.emit(example(held, userId, itemId, 1, 1.0, false, false, out.now()));
            forget(held);
            return;
        }
        held.setStatus(CLOSED_NEGATIVE);
        // Decided from the id's hash: a dropped negative (most impressions) is never unpacked.
        if (keepsNegative(held.getImpressionHash(), settings.sampleRate())) {
            out.count(Count.NEGATIVE_KEPT);
            out.emit(example(held, userId, itemId, 0, settings.sampleRate(), false, false, out.now()));
        } else {
            out.count(Count.NEGATIVE_DROPPED);
        }
        if (settings.allowedLatenessMs() == 0) {
            forget(held);
        }
    }

    private void latePositive(HeldImpression held, String userId, String itemId, UserAction action, Output out) {
        held.setStatus(LATE_POSITIVE_DONE);
        if (!settings.emitLatePositives()) {
            out.count(Count.LATE_POSITIVE_DROPPED);
        } else {
            label(held, action, true);
            out.count(Count.LATE_POSITIVE);
            out.emit(example(held, userId, itemId, 1, 1.0, true,
                    keepsNegative(held.getImpressionHash(), settings.sampleRate()), out.now()));
        }
        forget(held);
    }

    /** The held impression with its ids: unpacked, or (state written before {@code packed}) a copy of the record. */
    private static Impression impressionOf(HeldImpression held, String userId, String itemId) {
        if (held.getImpression() != null) {
            return Impression.newBuilder(held.getImpression()).setUserId(userId).setItemId(itemId).build();
        }
        return ImpressionPacker.unpack(held.getPacked(), userId, itemId);
    }

    /** After its last possible example an impression keeps only what the duplicate checks and matching need. */
    private static void forget(HeldImpression held) {
        held.setImpression(null);
        held.setPacked(NO_BYTES);
        held.setLabels(new HashMap<>());
        held.setValues(new HashMap<>());
        held.setValueTimes(new HashMap<>());
    }

    /** The impression's example (a late positive's id is the impressionId + {@link #LATE_SUFFIX}). */
    private TrainingExample example(HeldImpression held, String userId, String itemId, int label, double rate,
                                    boolean late, boolean replacesNegative, long now) {
        Impression impression = impressionOf(held, userId, itemId);
        String exampleId = late ? impression.getImpressionId() + LATE_SUFFIX : impression.getImpressionId();
        Long first = held.getFirstActionTime();
        return TrainingExample.newBuilder()
                .setImpression(impression)
                .setLabels(new HashMap<>(held.getLabels()))
                .setLabel(label)
                .setSampleWeight(1.0 / rate)
                .setSampleRate(rate)
                .setJoinedAt(now)
                .setExampleId(exampleId)
                .setLate(late)
                .setReplacesNegative(replacesNegative)
                .setTimeToFirstActionMs(first == null ? null : first - held.getEventTime())
                .setValues(new HashMap<>(held.getValues()))
                .setWindowEnd(held.getEventTime() + settings.windowMs())
                .build();
    }

    private static ByteBuffer append(ByteBuffer hashes, long hash) {
        ByteBuffer grown = ByteBuffer.allocate(hashes.remaining() + Long.BYTES);
        grown.put(hashes.duplicate());
        grown.putLong(hash);
        grown.flip();
        return grown;
    }
}
