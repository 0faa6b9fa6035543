package org.kerrighed.epm;

/**
 * How one migration went, phase by phase (milliseconds, measured on the process's old node).
 *
 * @param pid       the process
 * @param from      the node it left
 * @param to        the node it runs on now
 * @param bytes     the size of its ghost
 * @param safepoint from the request to the process reaching a safe point (the end of its step)
 * @param export    writing the ghost (its locks handed over, its state serialized; a small ghost straight into the
 *                  message that carries it)
 * @param transfer  sending the ghost until the new node had read it and re-bound its handles
 * @param commit    the new node installing it (table, parent, children) and starting it
 * @param total     from the request to the end
 */
public record MigrationReport(int pid, int from, int to, long bytes, double safepoint, double export,
                              double transfer, double commit, double total) {
    @Override
    public String toString() {
        return String.format(java.util.Locale.ROOT, "process %d: node %d -> %d, %d bytes, safe point %.2f ms,"
                + " export %.2f ms, transfer %.2f ms, commit %.2f ms, total %.2f ms", pid, from, to, bytes, safepoint,
                export, transfer, commit, total);
    }
}
