package dev.streamrec.jobs.io;

import java.util.List;

/** Field checks shared by the validators of every job. Each returns null when the value is fine. */
public final class Checks {
    private Checks() {}

    public static Rejection id(String field, String value) {
        return value == null || value.isBlank() ? new Rejection(Rejection.MISSING_ID, field + " is missing") : null;
    }

    public static Rejection finite(String field, double value) {
        return Double.isFinite(value) ? null : new Rejection(Rejection.BAD_VALUE, field + " is " + value);
    }

    /** A vector of the expected dimension with only finite values. */
    public static Rejection vector(String field, List<Float> vector, int expectedDimension) {
        if (vector == null || vector.size() != expectedDimension) {
            return new Rejection(Rejection.BAD_VECTOR, field + " has dimension " + (vector == null ? 0 : vector.size())
                    + ", expected " + expectedDimension);
        }
        for (int i = 0; i < vector.size(); i++) {
            Float v = vector.get(i);
            if (v == null || !Float.isFinite(v)) {
                return new Rejection(Rejection.BAD_VECTOR, field + "[" + i + "] is " + v);
            }
        }
        return null;
    }

    /** A vector that has a direction (not all zeros); call after {@link #vector}. */
    public static Rejection direction(String field, List<Float> vector) {
        for (Float v : vector) {
            if (v != 0f) {
                return null;
            }
        }
        return new Rejection(Rejection.BAD_VECTOR, field + " has zero length");
    }

    /** First non-null rejection, or null. */
    public static Rejection first(Rejection... rejections) {
        for (Rejection r : rejections) {
            if (r != null) {
                return r;
            }
        }
        return null;
    }
}
