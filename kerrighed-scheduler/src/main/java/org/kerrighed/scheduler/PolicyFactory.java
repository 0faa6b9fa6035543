package org.kerrighed.scheduler;

/**
 * Makes policies of one type: the service a plugin JAR lists in
 * {@code META-INF/services/org.kerrighed.scheduler.PolicyFactory}. Needs a public no-argument constructor.
 */
public interface PolicyFactory {
    /** The type name configurations use ({@code krg sched create scheduler NAME POLICY}); unique in the cluster. */
    String type();

    /** One line for {@code krg sched list}. */
    default String description() {
        return type();
    }

    /**
     * Checks parameters about to be set on a scheduler of this type ({@code krg sched create scheduler} and
     * {@code set}; an empty value removes one), so that a bad one is refused when it is given rather than failing
     * every decision later. Accepts anything unless overridden.
     *
     * @throws IllegalArgumentException naming the bad parameter
     */
    default void checkParams(java.util.Map<String, String> params) {
    }

    /** A new policy for one node; it reads its parameters through {@link PolicyContext#param}. */
    Policy create();
}
