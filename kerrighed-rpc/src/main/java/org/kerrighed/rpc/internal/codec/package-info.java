/**
 * Internal use only: the Kryo codec of the wire, hardened against hostile frames. Start from
 * {@link org.kerrighed.rpc.internal.codec.KryoCodec}.
 */
package org.kerrighed.rpc.internal.codec;
