package org.kerrighed.epm;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.zip.CRC32C;

/**
 * The ghost container: one process image with a header that says what it is, who can read it and whether it is
 * intact. The same bytes travel in a migration and are stored in a checkpoint.
 *
 * <pre>
 *  0  magic "KRGGHOST"                8 bytes
 *  8  format version                  u16   ({@value #VERSION})
 * 10  kind                            u8    (0 migration, 1 checkpoint, 2 distant fork)
 * 11  flags                           u8    (bit 0: the body has no checksum, see below)
 * 12  pid                             i32
 * 16  body length                     i64
 * 24  CRC-32C of the body             i32   (0 when flag bit 0 is set)
 * 28  meta length                     i32, then meta: the writer's type-registry fingerprint, the application id
 *                                           ("" for none) and the node that holds its JAR (UTF-8, length-prefixed)
 *  .  body                            Kryo: the process's identity, then its state ({@link GhostCodec})
 * </pre>
 *
 * <p>All integers are big-endian. A reader refuses, with a {@link GhostException} naming the reason, bytes that
 * are not a ghost, another format version, a body whose length or checksum does not match, and a ghost written
 * by a cluster whose registered types differ (the body names registered classes by id).
 *
 * <p>A migration ghost sent whole in one RPC message goes without its checksum ({@link #NO_CHECKSUM}): in flight,
 * it is protected as every message is, by the transport (TCP's checksum, TLS's record integrity when the cluster
 * uses TLS), and computing a CRC over it twice (writer and reader) cost about a twentieth of a 1 MiB move. Ghosts
 * that are stored (checkpoints) or sent in pieces always carry it, and only the reader of a one-message migration
 * accepts a ghost without it.
 */
final class Ghost {
    static final byte[] MAGIC = "KRGGHOST".getBytes(StandardCharsets.US_ASCII);
    static final int VERSION = 4;                            // 3: the images written field by field; 4: flags
                                                             // (3 is read too: its flag byte is always 0)
    static final int NO_CHECKSUM = 1;                        // flag: the body's CRC is not computed (0)
    static final int MIGRATION = 0;
    static final int CHECKPOINT = 1;
    static final int FORK = 2;
    private static final int FIXED = 32;
    private static final int PEEK_BYTES = 4096;              // more than any header: its strings are ids

    private Ghost() {
    }

    /** What a ghost's header says; {@code bodyOffset}..{@code bodyOffset + bodyLength} of the bytes is the body. */
    record Header(int kind, int pid, String fingerprint, String app, int appOrigin, int bodyOffset, long bodyLength) {
    }

    /**
     * The header bytes for a body of unknown length yet ({@link #seal} fills length and checksum in); {@code flags}
     * are {@link #NO_CHECKSUM} or 0.
     */
    static byte[] header(int kind, int pid, String fingerprint, String app, int appOrigin, int flags) {
        byte[] f = fingerprint.getBytes(StandardCharsets.UTF_8);
        byte[] a = (app == null ? "" : app).getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(FIXED + 4 + f.length + 4 + a.length + 4);
        b.put(MAGIC).putShort((short) VERSION).put((byte) kind).put((byte) flags).putInt(pid).putLong(0).putInt(0)
                .putInt(4 + f.length + 4 + a.length + 4);
        b.putInt(f.length).put(f).putInt(a.length).put(a).putInt(appOrigin);
        return b.array();
    }

    /** Writes the body's length and checksum into the header at the start of {@code buf[0..length)}. */
    static void seal(byte[] buf, int length) {
        ByteBuffer.wrap(buf).put(SEALED_AT, sealed(ByteBuffer.wrap(buf, 0, length)), 0, SEALED_BYTES);
    }

    /** Where {@link #sealed} goes in a ghost, and its size. */
    static final int SEALED_AT = 16;
    static final int SEALED_BYTES = 12;

    /**
     * The body's length and checksum of {@code ghost} (its remaining bytes), as they go at {@link #SEALED_AT}; the
     * checksum is 0 when its header has {@link #NO_CHECKSUM}.
     */
    static byte[] sealed(ByteBuffer ghost) {
        int p = ghost.position();
        int bodyOffset = FIXED + ghost.getInt(p + 28);
        int checksum = 0;
        if ((ghost.get(p + 11) & NO_CHECKSUM) == 0) {
            CRC32C crc = new CRC32C();
            crc.update(ghost.duplicate().position(p + bodyOffset));
            checksum = (int) crc.getValue();
        }
        byte[] f = new byte[SEALED_BYTES];
        ByteBuffer.wrap(f).putLong(0, ghost.remaining() - bodyOffset).putInt(8, checksum);
        return f;
    }

    /** Writes the body's length and checksum into the header at the start of file {@code ch}. */
    static void seal(java.nio.channels.FileChannel ch, long bodyLength, int crc) throws java.io.IOException {
        ByteBuffer b = ByteBuffer.allocate(12).putLong(0, bodyLength).putInt(8, crc);
        long at = 16;
        while (b.hasRemaining()) {
            at += ch.write(b, at);
        }
    }

    /**
     * Checks {@code buf[0..length)} and returns its header.
     *
     * @param source       what the bytes are, for messages ("the ghost from node 2", "checkpoint file ...")
     * @param fingerprint  this node's type-registry fingerprint
     * @throws GhostException when the bytes are refused
     */
    static Header open(byte[] buf, int length, String source, String fingerprint) {
        return open(ByteBuffer.wrap(buf, 0, length), source, fingerprint, false);
    }

    /**
     * {@link #open(byte[], int, String, String)} of {@code ghost}'s remaining bytes (its position is not moved).
     * With {@code fromOneMessage} (a migration ghost that came whole in one RPC message), a ghost flagged
     * {@link #NO_CHECKSUM} is accepted without its checksum; otherwise such a ghost is refused.
     */
    static Header open(ByteBuffer ghost, String source, String fingerprint, boolean fromOneMessage) {
        ByteBuffer g = ghost.slice();
        int length = g.remaining();
        Header h = parse(g, source);
        if (h.bodyLength() != length - h.bodyOffset()) {
            throw new GhostException(source + " is truncated or corrupted: its header says " + h.bodyLength()
                    + " bytes of state, " + (length - h.bodyOffset()) + " are there");
        }
        if ((g.get(11) & NO_CHECKSUM) == 0) {
            CRC32C c = new CRC32C();
            c.update(g.duplicate().position(h.bodyOffset()));
            if ((int) c.getValue() != g.getInt(24)) {
                throw new GhostException(source + " is corrupted: the checksum of its " + h.bodyLength()
                        + " bytes of state does not match");
            }
        } else if (!fromOneMessage || h.kind() != MIGRATION) {
            throw new GhostException(source + " has no checksum: only a migration ghost sent in one message may go"
                    + " without it");
        }
        if (!h.fingerprint().equals(fingerprint)) {
            throw new GhostException(source + " was written by a cluster whose registered types differ (types "
                    + abbrev(h.fingerprint()) + ", this node's " + abbrev(fingerprint) + "): it cannot be read here");
        }
        return h;
    }

    /**
     * The header of ghost file {@code file}, read from its first bytes. Neither the body nor the writer's types are
     * checked: {@link #open} does that when the ghost is read.
     *
     * @throws GhostException when the file does not start with a ghost header
     */
    static Header peek(java.nio.file.Path file, String source) throws java.io.IOException {
        byte[] head;
        try (java.io.InputStream in = java.nio.file.Files.newInputStream(file)) {
            head = in.readNBytes(PEEK_BYTES);
        }
        return parse(ByteBuffer.wrap(head), source);
    }

    /** The header at the start of {@code b} (from index 0 to its limit): magic, version, fixed fields and meta. */
    private static Header parse(ByteBuffer b, String source) {
        int length = b.limit();
        if (length < FIXED || !b.slice(0, MAGIC.length).equals(ByteBuffer.wrap(MAGIC))) {
            throw new GhostException(source + " is not a Kerrighed process image (no ghost header)");
        }
        int version = Short.toUnsignedInt(b.getShort(8));
        if (version != VERSION && version != VERSION - 1) {
            throw new GhostException(source + " has ghost format version " + version + "; this node reads versions "
                    + (VERSION - 1) + " and " + VERSION);
        }
        if ((b.get(11) & ~NO_CHECKSUM) != 0) {
            throw new GhostException(source + " has unknown flags " + Integer.toBinaryString(b.get(11) & 0xff)
                    + " in its header");
        }
        int kind = b.get(10);
        int pid = b.getInt(12);
        long bodyLength = b.getLong(16);
        int metaLength = b.getInt(28);
        if (metaLength < 12 || FIXED + (long) metaLength > length) {
            throw new GhostException(source + " is truncated or corrupted (its header is cut)");
        }
        String writer;
        String app;
        int appOrigin;
        try {
            b = b.duplicate().position(FIXED);
            writer = string(b);
            app = string(b);
            appOrigin = b.getInt();
        } catch (RuntimeException e) {
            throw new GhostException(source + " is corrupted (its header does not parse)", e);
        }
        return new Header(kind, pid, writer, app.isEmpty() ? null : app, appOrigin, FIXED + metaLength, bodyLength);
    }

    private static String string(ByteBuffer b) {
        int n = b.getInt();
        if (n < 0 || n > b.remaining()) {
            throw new IllegalArgumentException("bad string length " + n);
        }
        byte[] s = new byte[n];
        b.get(s);
        return new String(s, StandardCharsets.UTF_8);
    }

    private static String abbrev(String fingerprint) {
        return fingerprint.length() > 12 ? fingerprint.substring(0, 12) : fingerprint;
    }
}
