/**
 * The node facade: {@link org.kerrighed.node.Kerrighed#join} turns a {@link org.kerrighed.node.NodeConfig}
 * into a running {@link org.kerrighed.node.Node} (RPC endpoint, membership, admin services), from which an
 * application reaches the cluster's services. {@link org.kerrighed.node.NodeAdmin} holds the services the
 * {@code krg} tools use.
 */
package org.kerrighed.node;
