package dev.streamrec.index.ann;

import java.io.DataInput;
import java.io.DataOutput;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.StreamCorruptedException;

/**
 * Carries a byte stream of unknown length inside a {@link DataOutput} as length-prefixed frames ending with an empty
 * frame, so it can be written without buffering it whole and read back without over-reading the enclosing data.
 */
final class Frames {

    static final int FRAME = 64 * 1024;

    private Frames() {
    }

    /** Frames what is written to it; {@link #close()} writes the end marker and leaves {@code out} open. */
    static final class Out extends OutputStream {
        private final DataOutput out;
        private final byte[] buf = new byte[FRAME];
        private int n;
        private boolean closed;

        Out(DataOutput out) {
            this.out = out;
        }

        @Override
        public void write(int b) throws IOException {
            if (n == buf.length) {
                flushFrame();
            }
            buf[n++] = (byte) b;
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            while (len > 0) {
                if (n == buf.length) {
                    flushFrame();
                }
                int c = Math.min(len, buf.length - n);
                System.arraycopy(b, off, buf, n, c);
                n += c;
                off += c;
                len -= c;
            }
        }

        private void flushFrame() throws IOException {
            if (n > 0) {
                out.writeInt(n);
                out.write(buf, 0, n);
                n = 0;
            }
        }

        @Override
        public void close() throws IOException {
            if (!closed) {
                closed = true;
                flushFrame();
                out.writeInt(0);
            }
        }
    }

    /** Reads frames written by {@link Out}; {@link #close()} skips to the end marker and leaves {@code in} open. */
    static final class In extends InputStream {
        private final DataInput in;
        private final byte[] buf = new byte[FRAME];
        private int pos;
        private int lim;
        private boolean end;

        In(DataInput in) {
            this.in = in;
        }

        private boolean fill() throws IOException {
            while (pos == lim && !end) {
                int len = in.readInt();
                if (len == 0) {
                    end = true;
                } else if (len < 0 || len > FRAME) {
                    throw new StreamCorruptedException("bad frame length " + len);
                } else {
                    in.readFully(buf, 0, len);
                    pos = 0;
                    lim = len;
                }
            }
            return pos < lim;
        }

        @Override
        public int read() throws IOException {
            return fill() ? buf[pos++] & 0xff : -1;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            if (len == 0) {
                return 0;
            }
            if (!fill()) {
                return -1;
            }
            int c = Math.min(len, lim - pos);
            System.arraycopy(buf, pos, b, off, c);
            pos += c;
            return c;
        }

        @Override
        public int available() {
            return lim - pos;
        }

        @Override
        public void close() throws IOException {
            while (fill()) {
                pos = lim;
            }
        }
    }
}
