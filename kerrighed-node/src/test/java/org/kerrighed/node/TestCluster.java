package org.kerrighed.node;

import org.kerrighed.rpc.RpcClient;

/**
 * A cluster that the same test bodies run against ({@link ClusterContract}): nodes in this JVM
 * ({@link InProcessNodes}) or in JVMs of their own ({@link JvmCluster}).
 */
interface TestCluster extends AutoCloseable {
    /** Starts node {@code id}; the first one started founds the cluster, the others join through it. */
    void startNode(int id) throws Exception;

    /** Connects a tool (the {@code krg} commands' endpoint) to node {@code id}. */
    RpcClient tool(int id);

    /** Ends node {@code id} at once, sockets closed, without leaving: halt in a JVM, SIGKILL of a JVM. */
    void crash(int id) throws Exception;

    @Override
    void close();
}
