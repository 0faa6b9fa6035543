/**
 * Starting nodes in JVMs of their own (the demo, crash tests, benchmarks). Start from
 * {@link org.kerrighed.node.launch.ChildJvm}.
 */
package org.kerrighed.node.launch;
