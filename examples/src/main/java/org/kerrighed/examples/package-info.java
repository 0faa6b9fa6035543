/**
 * Workloads users run and copy. Start from {@link org.kerrighed.examples.WordCount}: types, a service on
 * every node, and calls across the cluster; then {@link org.kerrighed.examples.SharedWordCount}: the same
 * count kept in a KDDM set shared by every node; {@link org.kerrighed.examples.MonteCarloPi} shows cluster
 * processes, {@link org.kerrighed.examples.CheckpointedJob} a job that survives the loss of a node through its
 * checkpoints, and {@link org.kerrighed.examples.LogShards} processes on every node sharing files through the cluster
 * file system. examples/README.md tells how to run them.
 */
package org.kerrighed.examples;
