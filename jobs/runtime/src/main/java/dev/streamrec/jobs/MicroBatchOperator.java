package dev.streamrec.jobs;

import org.apache.flink.streaming.api.operators.AbstractStreamOperator;
import org.apache.flink.streaming.api.watermark.Watermark;

/**
 * A keyed operator that applies its input in micro-batches: a subclass keeps the open batch on the heap (per key, the
 * state it read once and what the batch changed) and writes it in {@link #writeBatch()}: one state write and one
 * output record per key per batch instead of one per element. A batch is written {@code maxDelayMs} (processing
 * time) after its first element, once it holds {@code maxElements}, before every checkpoint barrier (a checkpoint
 * never misses a buffered element: exactly-once holds), and at end of input; a subclass may {@link #flush()} earlier
 * (before an element that must see the batch applied). Watermarks that arrive while a batch is open are forwarded
 * after it, so event-time timers fire on applied state and downstream sees the batch's records first.
 * {@code maxDelayMs = 0} writes every element on its own.
 */
public abstract class MicroBatchOperator<OUT> extends AbstractStreamOperator<OUT> {
    private static final long serialVersionUID = 1L;

    private final long maxDelayMs;
    private final int maxElements;

    private transient int batchElements;
    private transient boolean flushTimerSet;
    private transient long inputWatermark = Long.MIN_VALUE;
    private transient Watermark heldWatermark;

    protected MicroBatchOperator(long maxDelayMs, int maxElements) {
        if (maxDelayMs < 0 || maxElements < 1) {
            throw new IllegalArgumentException("batch max delay must be >= 0 and max elements >= 1");
        }
        this.maxDelayMs = maxDelayMs;
        this.maxElements = maxElements;
    }

    /** Writes the open batch to state and output; the batch is empty afterwards. */
    protected abstract void writeBatch() throws Exception;

    /** To be called after one element was added to the batch: writes it when full or schedules its write. */
    protected final void added() throws Exception {
        if (++batchElements >= maxElements || maxDelayMs == 0) {
            flush();
        } else if (!flushTimerSet) {
            // One timer per batch; a batch written earlier leaves it set for the next one, which it writes early.
            flushTimerSet = true;
            long at = getProcessingTimeService().getCurrentProcessingTime() + maxDelayMs;
            getProcessingTimeService().registerTimer(at, t -> {
                flushTimerSet = false;
                flush();
            });
        }
    }

    /** Writes the open batch, if any, then forwards a watermark held back while it was open. */
    protected final void flush() throws Exception {
        if (batchElements > 0) {
            writeBatch();
            batchElements = 0;
        }
        if (heldWatermark != null) {
            Watermark mark = heldWatermark;
            heldWatermark = null;
            super.processWatermark(mark);
        }
    }

    /** The latest watermark this operator received (possibly still held back). */
    protected final long inputWatermark() {
        return inputWatermark;
    }

    @Override
    public void processWatermark(Watermark mark) throws Exception {
        inputWatermark = mark.getTimestamp();
        if (batchElements == 0) {
            super.processWatermark(mark);
        } else {
            heldWatermark = mark; // forwarded after the batch's records
        }
    }

    @Override
    public void prepareSnapshotPreBarrier(long checkpointId) throws Exception {
        flush();
        super.prepareSnapshotPreBarrier(checkpointId);
    }

    @Override
    public void finish() throws Exception {
        flush();
        super.finish();
    }
}
