package org.kerrighed.kddm.access;

/**
 * Tells the services of one node who the current caller is. The node installs one that answers with its
 * configured credentials and the calling thread; the process layer replaces it with one that answers with the
 * current process's. Implementations are thread-safe and fast (called on every checked operation).
 */
public interface CallerContext {
    /** The current caller's credentials. */
    Credentials credentials();

    /** The current caller as a holder of locks and other resources. */
    Caller caller();

    /**
     * Checks that the current caller may use the runtime feature that the process layer gates with the capability
     * named {@code capability} (for example {@code "USE_REMOTE_MEMORY"} before attaching shared memory). Callers
     * that are not processes may use every feature: the default does nothing.
     *
     * @throws PermissionDeniedException when the caller is a process without that capability effective
     */
    default void checkCapability(String capability) {
    }

    /** Every caller on node {@code node} has {@code credentials}; holders are threads. */
    static CallerContext ofNode(int node, Credentials credentials) {
        return new CallerContext() {
            @Override
            public Credentials credentials() {
                return credentials;
            }

            @Override
            public Caller caller() {
                return new Caller(node, 0, Thread.currentThread().threadId());
            }

            @Override
            public String toString() {
                return "node " + node + " callers (" + credentials + ")";
            }
        };
    }
}
