package dev.streamrec.feature;

import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.apache.avro.Schema;
import org.apache.flink.api.common.serialization.SerializerConfig;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeutils.SimpleTypeSerializerSnapshot;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.api.common.typeutils.TypeSerializerSnapshot;
import org.apache.flink.core.memory.DataInputView;
import org.apache.flink.core.memory.DataOutputView;
import org.apache.flink.formats.avro.typeutils.AvroSerializer;
import org.apache.flink.types.StringValue;

import dev.streamrec.avro.EnrichedAction;
import dev.streamrec.avro.UserAction;

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

    private final AvroSerializer<UserAction> actions = new AvroSerializer<>(UserAction.class);

    @Override
    public boolean isImmutableType() {
        return false;
    }

    @Override
    public TypeSerializer<EnrichedAction> duplicate() {
        return new EnrichedActionSerializer(); // the Avro serializer inside is not thread-safe
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
        return o instanceof EnrichedActionSerializer;
    }

    @Override
    public int hashCode() {
        return EnrichedActionSerializer.class.hashCode();
    }

    @Override
    public TypeSerializerSnapshot<EnrichedAction> snapshotConfiguration() {
        return new Snapshot();
    }

    /** Needed by Flink's API; the format has one version. */
    public static final class Snapshot extends SimpleTypeSerializerSnapshot<EnrichedAction> {
        public Snapshot() {
            super(EnrichedActionSerializer::new);
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
