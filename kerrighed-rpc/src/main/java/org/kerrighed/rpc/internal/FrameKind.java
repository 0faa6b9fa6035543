package org.kerrighed.rpc.internal;

/**
 * The first byte of every frame. Frames are length-prefixed (4 bytes, big endian, not counting itself);
 * the layouts after the kind byte are documented per constant. Handshake frames are encoded by hand so
 * that a peer with a different type registry still gets a readable refusal; payloads are Kryo values.
 */
final class FrameKind {
    private FrameKind() {
    }

    // Handshake (before authentication; frames of at most PRE_AUTH_MAX_BYTES).
    /** magic:i32, version:u16, cluster:utf, fingerprint:utf, nodeId:i32 (-1: client), incarnation:i64, host:utf, port:u16, nonce:32B. */
    static final byte HELLO = 1;
    /** nodeId:i32, incarnation:i64, nonce:32B, proof:32B = HMAC(secret, "S" + clientNonce + serverNonce + nodeId). */
    static final byte CHALLENGE = 2;
    /** proof:32B = HMAC(secret, "C" + serverNonce + clientNonce + clientNodeId). */
    static final byte AUTH = 3;
    /** assignedId:i32 (the client id of a tool, or the node's own id). */
    static final byte WELCOME = 4;
    /** reason:utf. The sender closes the connection after it. */
    static final byte REJECT = 5;

    // After authentication.
    /** service:i32, callId:i64, timeoutNanos:i64 (0: none), payload. */
    static final byte REQUEST = 10;
    /** callId:i64, payload. */
    static final byte RESPONSE = 11;
    /** callId:i64, type:utf, message:utf. */
    static final byte ERROR = 12;
    /** service:i32, payload. */
    static final byte ONEWAY = 13;
    /** service:i32, convId:i64, window:i32, payload. */
    static final byte CONV_OPEN = 20;
    /** dir:u8, convId:i64, payload. dir 0: from the initiator, 1: from the acceptor. */
    static final byte CONV_DATA = 21;
    /** dir:u8, convId:i64, credits:i32. */
    static final byte CONV_CREDIT = 22;
    /** dir:u8, convId:i64. Half-close of the sender's direction. */
    static final byte CONV_CLOSE = 23;
    /** dir:u8, convId:i64, type:utf, message:utf. Ends both directions. */
    static final byte CONV_ABORT = 24;
    /** sentNanos:i64. */
    static final byte PING = 30;
    /** sentNanos:i64 (echoed). */
    static final byte PONG = 31;

    static final int MAGIC = 0x4b524748; // "KRGH"
    static final int NONCE_BYTES = 32;
    static final int PRE_AUTH_MAX_BYTES = 4096;
}
