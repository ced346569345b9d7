package dev.streamrec.feature;

import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.apache.avro.Schema;
import org.apache.flink.api.common.serialization.SerializerConfig;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeutils.CompositeTypeSerializerSnapshot;
import org.apache.flink.api.common.typeutils.SimpleTypeSerializerSnapshot;
import org.apache.flink.api.common.typeutils.TypeSerializerSchemaCompatibility;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.api.common.typeutils.TypeSerializerSnapshot;
import org.apache.flink.core.memory.DataInputView;
import org.apache.flink.core.memory.DataOutputView;
import org.apache.flink.formats.avro.typeutils.AvroSerializer;
import org.apache.flink.types.StringValue;

import dev.streamrec.avro.EnrichedAction;
import dev.streamrec.avro.UserAction;
import dev.streamrec.schemas.SchemaHistory;

/**
 * The serializer of the network edge between {@link ItemEnricher} and {@link UserFeatureUpdater} (EnrichedAction
 * is never stored, so only the running job reads what this writes). The action stays Avro (its own serializer); the
 * item's category, tags and vectors are written directly: each vector as a length and its floats. Through Avro every
 * float went through the resolving decoder's grammar and cost more than the rest of the record.
 */
public final class EnrichedActionSerializer extends TypeSerializer<EnrichedAction> {
    private static final long serialVersionUID = 1L;

    /** The fields written here; a field added to the schema must be added here (the class fails to load otherwise). */
    static final List<String> FIELDS = List.of("action", "category", "tags", "vectors");

    static {
        List<String> fields = EnrichedAction.getClassSchema().getFields().stream().map(Schema.Field::name).toList();
        if (!fields.equals(FIELDS)) {
            throw new IllegalStateException("EnrichedAction has fields " + fields + "; EnrichedActionSerializer writes " + FIELDS);
        }
    }

    /** The type information that makes Flink use this serializer. */
    public static final TypeInformation<EnrichedAction> TYPE = new Type();

    private final TypeSerializer<UserAction> actions;

    public EnrichedActionSerializer() {
        this(new AvroSerializer<>(UserAction.class));
    }

    EnrichedActionSerializer(TypeSerializer<UserAction> actions) {
        this.actions = actions;
    }

    @Override
    public boolean isImmutableType() {
        return false;
    }

    @Override
    public TypeSerializer<EnrichedAction> duplicate() {
        return new EnrichedActionSerializer(actions.duplicate()); // the Avro serializer inside is not thread-safe
    }

    @Override
    public EnrichedAction createInstance() {
        return new EnrichedAction();
    }

    @Override
    public EnrichedAction copy(EnrichedAction from) {
        return EnrichedAction.newBuilder(from).build();
    }

    @Override
    public EnrichedAction copy(EnrichedAction from, EnrichedAction reuse) {
        return copy(from);
    }

    @Override
    public int getLength() {
        return -1;
    }

    @Override
    public void serialize(EnrichedAction e, DataOutputView out) throws IOException {
        actions.serialize(e.getAction(), out);
        out.writeBoolean(e.getCategory() != null);
        if (e.getCategory() != null) {
            StringValue.writeString(e.getCategory(), out);
        }
        out.writeInt(e.getTags().size());
        for (String tag : e.getTags()) {
            StringValue.writeString(tag, out);
        }
        out.writeInt(e.getVectors().size());
        for (Map.Entry<String, List<Float>> v : e.getVectors().entrySet()) {
            StringValue.writeString(v.getKey(), out);
            List<Float> x = v.getValue();
            out.writeInt(x.size());
            for (int i = 0; i < x.size(); i++) {
                out.writeFloat(x.get(i));
            }
        }
    }

    @Override
    public EnrichedAction deserialize(DataInputView in) throws IOException {
        UserAction action = actions.deserialize(in);
        String category = in.readBoolean() ? StringValue.readString(in) : null;
        int tagCount = in.readInt();
        List<String> tags = new ArrayList<>(tagCount);
        for (int i = 0; i < tagCount; i++) {
            tags.add(StringValue.readString(in));
        }
        int vectorCount = in.readInt();
        Map<String, List<Float>> vectors = new HashMap<>(vectorCount * 2);
        for (int v = 0; v < vectorCount; v++) {
            String version = StringValue.readString(in);
            int n = in.readInt();
            List<Float> x = new ArrayList<>(n);
            for (int i = 0; i < n; i++) {
                x.add(in.readFloat());
            }
            vectors.put(version, x);
        }
        return new EnrichedAction(action, category, tags, vectors);
    }

    @Override
    public EnrichedAction deserialize(EnrichedAction reuse, DataInputView in) throws IOException {
        return deserialize(in);
    }

    @Override
    public void copy(DataInputView source, DataOutputView target) throws IOException {
        serialize(deserialize(source), target);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof EnrichedActionSerializer other && other.actions.equals(actions);
    }

    @Override
    public int hashCode() {
        return actions.hashCode();
    }

    @Override
    public TypeSerializerSnapshot<EnrichedAction> snapshotConfiguration() {
        return new FormatSnapshot(this);
    }

    /**
     * What an unaligned checkpoint keeps of this serializer next to the in-flight records it wrote: the format version
     * of the fields written here, and the action's Avro serializer snapshot (its writer schema), so a later build
     * reads them: an evolved UserAction schema resolves through Avro, a changed format fails the restore clearly
     * instead of misreading bytes.
     */
    public static final class FormatSnapshot extends CompositeTypeSerializerSnapshot<EnrichedAction, EnrichedActionSerializer> {
        /** 1: action (Avro), optional category, tags, then per model version its name and floats. */
        static final int FORMAT = 1;

        public FormatSnapshot() {
            super();
        }

        FormatSnapshot(EnrichedActionSerializer serializer) {
            super(serializer);
        }

        @Override
        protected int getCurrentOuterSnapshotVersion() {
            return FORMAT;
        }

        @Override
        protected TypeSerializer<?>[] getNestedSerializers(EnrichedActionSerializer outer) {
            return new TypeSerializer<?>[] {outer.actions};
        }

        @Override
        @SuppressWarnings("unchecked")
        protected EnrichedActionSerializer createOuterSerializerWithNestedSerializers(TypeSerializer<?>[] nested) {
            return new EnrichedActionSerializer((TypeSerializer<UserAction>) nested[0]);
        }

        @Override
        public TypeSerializerSchemaCompatibility<EnrichedAction> resolveSchemaCompatibility(
                TypeSerializerSnapshot<EnrichedAction> oldSnapshot) {
            if (oldSnapshot instanceof Snapshot) {
                // 0.1.0 wrote format 1 with UserAction's first schema: readable as is while that is still the schema.
                return LegacySnapshot.readsAsIs()
                        ? TypeSerializerSchemaCompatibility.compatibleAsIs()
                        : TypeSerializerSchemaCompatibility.incompatible();
            }
            return super.resolveSchemaCompatibility(oldSnapshot);
        }
    }

    /** The snapshot 0.1.0 wrote (no format version, no schema); kept so its unaligned checkpoints still restore. */
    public static final class Snapshot extends SimpleTypeSerializerSnapshot<EnrichedAction> {
        public Snapshot() {
            super(EnrichedActionSerializer::new);
        }
    }

    static final class LegacySnapshot {
        private LegacySnapshot() {}

        static boolean readsAsIs() {
            List<Schema> released = SchemaHistory.releasedVersions("UserAction");
            return !released.isEmpty() && released.get(0).equals(UserAction.getClassSchema());
        }
    }

    private static final class Type extends TypeInformation<EnrichedAction> {
        private static final long serialVersionUID = 1L;

        @Override
        public boolean isBasicType() {
            return false;
        }

        @Override
        public boolean isTupleType() {
            return false;
        }

        @Override
        public int getArity() {
            return 1;
        }

        @Override
        public int getTotalFields() {
            return 1;
        }

        @Override
        public Class<EnrichedAction> getTypeClass() {
            return EnrichedAction.class;
        }

        @Override
        public boolean isKeyType() {
            return false;
        }

        @Override
        public TypeSerializer<EnrichedAction> createSerializer(SerializerConfig config) {
            return new EnrichedActionSerializer();
        }

        @Override
        public String toString() {
            return "EnrichedAction(EnrichedActionSerializer)";
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Type;
        }

        @Override
        public int hashCode() {
            return Type.class.hashCode();
        }

        @Override
        public boolean canEqual(Object o) {
            return o instanceof Type;
        }
    }
}
