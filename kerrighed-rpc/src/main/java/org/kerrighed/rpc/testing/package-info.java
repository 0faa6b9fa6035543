/**
 * Test support that applications may use too: {@link org.kerrighed.rpc.testing.InProcessCluster} runs
 * several nodes in one JVM over real loopback sockets, with faults injected through
 * {@link org.kerrighed.rpc.testing.LinkFaults}.
 */
package org.kerrighed.rpc.testing;
