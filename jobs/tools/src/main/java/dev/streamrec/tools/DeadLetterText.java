package dev.streamrec.tools;

import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.time.Instant;

import dev.streamrec.avro.DeadLetter;

/** A dead letter as text: where it came from, why, when, and its raw key and value. */
final class DeadLetterText {
    private DeadLetterText() {}

    /** The reason's code: a job writes {@code "code: detail"} ({@code Rejection.reason()}). */
    static String code(DeadLetter d) {
        int colon = d.getReason().indexOf(':');
        return colon < 0 ? d.getReason() : d.getReason().substring(0, colon);
    }

    static String detail(DeadLetter d) {
        int colon = d.getReason().indexOf(':');
        return colon < 0 ? "" : d.getReason().substring(colon + 1).strip();
    }

    /**
     * Three lines: time, job, source coordinates, reason code and detail; then the key and the value. Coordinates of -1
     * mean a record that was decoded fine and rejected later (its value re-encoded).
     */
    static String format(DeadLetter d, int maxBytes) {
        String source = d.getPartition() < 0 ? d.getTopic() + " (decoded, rejected later)"
                : d.getTopic() + " partition " + d.getPartition() + " offset " + d.getOffset();
        return Instant.ofEpochMilli(d.getTime()) + "  " + d.getJob() + "  " + source + "\n"
                + "  reason  " + code(d) + (detail(d).isEmpty() ? "" : ": " + detail(d)) + "\n"
                + "  key     " + bytes(d.getKey(), maxBytes) + "\n"
                + "  value   " + bytes(d.getValue(), maxBytes);
    }

    /** UTF-8 text in quotes when every character is printable, else hex; either cut after {@code maxBytes}. */
    static String bytes(ByteBuffer buffer, int maxBytes) {
        if (buffer == null) {
            return "null";
        }
        ByteBuffer b = buffer.duplicate();
        byte[] all = new byte[b.remaining()];
        b.get(all);
        String text = printableText(all);
        if (text != null) {
            boolean cut = text.length() > maxBytes;
            return "text \"" + (cut ? text.substring(0, maxBytes) : text) + "\"" + (cut ? " ... (" + all.length + " bytes)" : "");
        }
        StringBuilder hex = new StringBuilder("hex  ");
        int shown = Math.min(all.length, maxBytes);
        for (int i = 0; i < shown; i++) {
            hex.append(String.format("%02x", all[i] & 0xff));
            if (i + 1 < shown) {
                hex.append(' ');
            }
        }
        if (shown < all.length) {
            hex.append(" ...");
        }
        return hex.append(" (").append(all.length).append(" bytes)").toString();
    }

    private static String printableText(byte[] bytes) {
        CharBuffer chars;
        try {
            chars = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes));
        } catch (CharacterCodingException e) {
            return null;
        }
        String s = chars.toString();
        boolean printable = s.codePoints().allMatch(c -> !Character.isISOControl(c) || c == '\t')
                && s.codePoints().noneMatch(c -> c == 0xFFFD);
        return printable ? s : null;
    }
}
