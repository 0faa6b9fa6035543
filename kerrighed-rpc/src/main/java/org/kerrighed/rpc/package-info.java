/**
 * kerrighed-rpc: the transport every Kerrighed service runs on. Start from {@link org.kerrighed.rpc.RpcNode}
 * (a cluster node's endpoint) and {@link org.kerrighed.rpc.RpcConfig}; values on the wire are registered
 * in a {@link org.kerrighed.rpc.TypeRegistry}.
 */
package org.kerrighed.rpc;
