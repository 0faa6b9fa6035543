package org.kerrighed.epm;

/**
 * A process's handler for a signal; it runs on the process's thread, at the safe point that delivers it. Handlers
 * travel with a process that moves or is checkpointed: a lambda is serializable (this interface is), and what it
 * captures must be able to travel too.
 */
@FunctionalInterface
public interface SignalHandler extends java.io.Serializable {
    void handle(Signal signal) throws Exception;
}
