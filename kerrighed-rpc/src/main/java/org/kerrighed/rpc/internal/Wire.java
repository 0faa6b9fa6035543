package org.kerrighed.rpc.internal;

import io.netty.buffer.ByteBuf;
import org.kerrighed.rpc.SerializationException;

import java.nio.charset.StandardCharsets;

/** Hand-encoded frame fields: strings as u16 length + UTF-8, bounds-checked on read. */
final class Wire {
    static final int MAX_UTF_BYTES = 8192;

    private Wire() {
    }

    static void writeUtf(ByteBuf out, String s) {
        byte[] b = (s == null ? "" : s).getBytes(StandardCharsets.UTF_8);
        int n = Math.min(b.length, MAX_UTF_BYTES);
        out.writeShort(n);
        out.writeBytes(b, 0, n);
    }

    static String readUtf(ByteBuf in) {
        if (in.readableBytes() < 2) {
            throw new SerializationException("truncated frame: string length missing");
        }
        int n = in.readUnsignedShort();
        if (n > MAX_UTF_BYTES || n > in.readableBytes()) {
            throw new SerializationException("malformed frame: string of " + n + " bytes with "
                    + in.readableBytes() + " left");
        }
        String s = in.toString(in.readerIndex(), n, StandardCharsets.UTF_8);
        in.skipBytes(n);
        return s;
    }

    static void need(ByteBuf in, int bytes, String what) {
        if (in.readableBytes() < bytes) {
            throw new SerializationException("truncated frame: " + what + " needs " + bytes + " bytes, "
                    + in.readableBytes() + " left");
        }
    }

    /** The class name and message of a failure, as sent in ERROR and CONV_ABORT frames. */
    static void writeError(ByteBuf out, Throwable t) {
        Throwable root = t;
        if (root instanceof java.util.concurrent.CompletionException && root.getCause() != null) {
            root = root.getCause();
        }
        writeUtf(out, root.getClass().getName());
        writeUtf(out, String.valueOf(root.getMessage()));
    }
}
