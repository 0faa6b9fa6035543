package org.kerrighed.scheduler.internal;

import org.kerrighed.rpc.ServiceKey;
import org.kerrighed.rpc.TypeRegistry;
import org.kerrighed.scheduler.FilterSpec;
import org.kerrighed.scheduler.NodeReport;
import org.kerrighed.scheduler.NodeSet;
import org.kerrighed.scheduler.PluginSpec;
import org.kerrighed.scheduler.PortLink;
import org.kerrighed.scheduler.ProbeSpec;
import org.kerrighed.scheduler.ProcessSet;
import org.kerrighed.scheduler.SchedulerConfig;
import org.kerrighed.scheduler.SchedulerSpec;
import org.kerrighed.scheduler.SchedulerStats;

import java.util.HashMap;
import java.util.HashSet;

/** The scheduler's messages: service ids 180-189, types 8000-8039, KDDM static set 1300 (the configuration). */
public final class SchedWire {
    /** The static KDDM set holding the configuration (object {@link #CONFIG_ID}). */
    public static final long CONFIG_SET = 1300;
    public static final long CONFIG_ID = 0;

    /** Another node's last published values of some {@code PROBE/SOURCE} keys (a remote_cache poll). */
    @SuppressWarnings({"unchecked", "rawtypes"})
    public static final ServiceKey<HashSet<String>, HashMap<String, Double>> POLL =
            (ServiceKey) ServiceKey.of(180, "sched.poll", HashSet.class, HashMap.class);
    /** The configuration changed: read it and apply it (the version it reached). */
    public static final ServiceKey<Long, Void> NUDGE = ServiceKey.oneWay(181, "sched.nudge", Long.class);
    /** A node's scheduler report. */
    public static final ServiceKey<Integer, NodeReport> REPORT = ServiceKey.of(182, "sched.report", Integer.class,
            NodeReport.class);

    private SchedWire() {
    }

    public static void registerTypes(TypeRegistry.Builder b) {
        b.range("kerrighed-scheduler", 8000, 8039)
                .register(8000, SchedulerConfig.class)
                .register(8001, ProbeSpec.class)
                .register(8002, SchedulerSpec.class)
                .register(8003, PortLink.class)
                .register(8004, FilterSpec.class)
                .register(8005, ProcessSet.class)
                .register(8006, ProcessSet.Kind.class)
                .register(8007, NodeSet.class)
                .register(8008, PluginSpec.class)
                .register(8009, SchedulerStats.class)
                .register(8010, NodeReport.class);
    }
}
