package dev.streamrec.jobs;

import org.apache.flink.api.common.functions.RuntimeContext;
import org.apache.flink.metrics.MetricGroup;

/** The metric group every streamrec metric lives in ({@code <operator scope>.streamrec.<name>}), so dashboards find them. */
public final class JobMetrics {
    public static final String GROUP = "streamrec";

    private JobMetrics() {}

    public static MetricGroup of(MetricGroup operatorGroup) {
        return operatorGroup.addGroup(GROUP);
    }

    public static MetricGroup of(RuntimeContext context) {
        return of(context.getMetricGroup());
    }
}
