package org.kerrighed.epm;

/** A process's handler for a signal; it runs on the process's thread, at the safe point that delivers it. */
@FunctionalInterface
public interface SignalHandler {
    void handle(Signal signal) throws Exception;
}
