/**
 * Workloads users run and copy. Start from {@link org.kerrighed.examples.WordCount}: types, a service on
 * every node, and calls across the cluster.
 */
package org.kerrighed.examples;
