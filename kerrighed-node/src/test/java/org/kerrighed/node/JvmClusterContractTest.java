package org.kerrighed.node;

/** The cluster contract with every node in a JVM of its own (crash = SIGKILL). */
class JvmClusterContractTest extends ClusterContract {
    @Override
    TestCluster newCluster() throws Exception {
        return new JvmCluster("contract");
    }
}
