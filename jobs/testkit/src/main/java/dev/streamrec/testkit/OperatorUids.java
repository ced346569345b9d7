package dev.streamrec.testkit;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.graph.StreamGraph;
import org.apache.flink.streaming.api.graph.StreamNode;

import dev.streamrec.jobs.JobSetup;
import dev.streamrec.jobs.PipelineJob;
import dev.streamrec.jobs.config.JobConfig;

/**
 * The operator uids of a job graph, for the test every job has: each operator carries an explicit uid, no two share
 * one, and the set is what the released savepoints were taken with (state maps to operators by uid).
 */
public final class OperatorUids {
    private OperatorUids() {}

    /** The sorted uids of {@code job}'s graph as {@code config} builds it (on a fresh environment, nothing runs). */
    public static List<String> of(PipelineJob job, JobConfig config) {
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        JobSetup.configure(env, config);
        job.define(env, config);
        return of(env);
    }

    /**
     * The sorted uids of the graph defined on {@code env}; fails naming every operator without one or sharing one.
     * Leaves the environment's transformations in place (the graph can still be executed).
     */
    public static List<String> of(StreamExecutionEnvironment env) {
        StreamGraph graph = env.getStreamGraph(false);
        List<String> problems = new ArrayList<>();
        Map<String, String> owners = new HashMap<>();
        List<String> uids = new ArrayList<>();
        for (StreamNode node : graph.getStreamNodes()) {
            String uid = node.getTransformationUID();
            if (uid == null || uid.isBlank()) {
                problems.add("operator '" + node.getOperatorName() + "' has no uid");
                continue;
            }
            String other = owners.putIfAbsent(uid, node.getOperatorName());
            if (other != null) {
                problems.add("operators '" + other + "' and '" + node.getOperatorName() + "' share uid '" + uid + "'");
            }
            uids.add(uid);
        }
        if (!problems.isEmpty()) {
            throw new AssertionError(String.join("\n", problems));
        }
        uids.sort(null);
        return uids;
    }
}
