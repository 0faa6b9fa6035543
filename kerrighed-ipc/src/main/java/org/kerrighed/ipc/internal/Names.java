package org.kerrighed.ipc.internal;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/** Object names to KDDM object ids: a 63-bit hash, the same on every node (a collision is detected by name). */
public final class Names {
    private Names() {
    }

    /** The id of {@code name}: positive, stable across nodes and runs. */
    public static long id(String name) {
        if (name == null || name.isEmpty()) {
            throw new IllegalArgumentException("an IPC object needs a non-empty name");
        }
        try {
            byte[] d = MessageDigest.getInstance("SHA-256").digest(name.getBytes(StandardCharsets.UTF_8));
            long v = 0;
            for (int i = 0; i < 8; i++) {
                v = (v << 8) | (d[i] & 0xff);
            }
            long id = v & Long.MAX_VALUE;
            return id == 0 ? 1 : id;
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Checks that the object found under {@code name}'s id is {@code name}'s (a hash collision is an error). */
    public static void checkSame(String name, String stored, String kind) {
        if (stored != null && !stored.equals(name)) {
            throw new IllegalStateException(kind + " '" + name + "' collides with '" + stored
                    + "' (same 63-bit id); choose another name");
        }
    }
}
