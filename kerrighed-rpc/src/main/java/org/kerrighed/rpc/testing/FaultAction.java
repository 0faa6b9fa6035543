package org.kerrighed.rpc.testing;

import java.time.Duration;

/** What a {@link FaultInjector} does with one frame. */
public sealed interface FaultAction {
    FaultAction DELIVER = new Deliver();
    FaultAction DROP = new Drop();

    static FaultAction delay(Duration by) {
        return new Delay(by);
    }

    record Deliver() implements FaultAction {
    }

    record Drop() implements FaultAction {
    }

    /** Deliver after {@code by}; frames on the link stay in order (later frames wait behind it). */
    record Delay(Duration by) implements FaultAction {
    }
}
