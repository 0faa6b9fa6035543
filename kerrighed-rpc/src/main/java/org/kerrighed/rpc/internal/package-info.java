/**
 * Internal use only: the Netty pipeline, handshake, framing, peers and dispatch behind
 * {@link org.kerrighed.rpc.RpcNode}. Not an API; it changes without notice. Start from {@link Endpoint}.
 */
package org.kerrighed.rpc.internal;
