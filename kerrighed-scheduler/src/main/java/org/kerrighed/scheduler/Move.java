package org.kerrighed.scheduler;

/** A policy's decision: move process {@code pid}, which runs on the deciding node, to {@code node}. */
public record Move(int pid, int node) {
}
