package org.kerrighed.node;

/** The cluster contract with every node in this JVM. */
class InProcessClusterContractTest extends ClusterContract {
    @Override
    TestCluster newCluster() {
        return new InProcessNodes();
    }
}
