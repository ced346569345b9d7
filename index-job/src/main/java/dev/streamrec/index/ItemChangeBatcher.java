package dev.streamrec.index;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;

import org.apache.flink.api.common.functions.AggregateFunction;

import dev.streamrec.avro.IndexControl;
import dev.streamrec.avro.ItemEmbedding;
import dev.streamrec.avro.ItemStatus;

/**
 * Gathers the validated item changes of one window into one control event: the items deleted, and the model versions
 * that gained vectors. Applying a batch costs the recall merger one pass over its users, whatever the batch holds,
 * so deletes are batched rather than applied one by one. The accumulator is the control record itself (an Avro
 * type in window state, no Kryo); ids stay distinct and in order of arrival.
 */
public class ItemChangeBatcher implements AggregateFunction<ItemEmbedding, IndexControl, IndexControl> {
    @Override
    public IndexControl createAccumulator() {
        return IndexControl.newBuilder().setDeletedItems(new ArrayList<>()).setVersionsWithNewItems(new ArrayList<>()).build();
    }

    @Override
    public IndexControl add(ItemEmbedding item, IndexControl batch) {
        if (item.getStatus() == ItemStatus.DELETED) {
            batch.getDeletedItems().add(item.getItemId());
        } else if (!batch.getVersionsWithNewItems().contains(item.getModelVersion())) {
            batch.getVersionsWithNewItems().add(item.getModelVersion());
        }
        return batch;
    }

    @Override
    public IndexControl getResult(IndexControl batch) {
        return IndexControl.newBuilder(batch).setDeletedItems(new ArrayList<>(new LinkedHashSet<>(batch.getDeletedItems())))
                .setBatchedAt(System.currentTimeMillis()).build();
    }

    @Override
    public IndexControl merge(IndexControl a, IndexControl b) {
        IndexControl merged = createAccumulator();
        for (IndexControl batch : List.of(a, b)) {
            merged.getDeletedItems().addAll(batch.getDeletedItems());
            for (String v : batch.getVersionsWithNewItems()) {
                if (!merged.getVersionsWithNewItems().contains(v)) {
                    merged.getVersionsWithNewItems().add(v);
                }
            }
        }
        return merged;
    }
}
