package org.kerrighed.node.cli;

import org.kerrighed.node.FsAdmin;

import java.time.Instant;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** How {@code krg fs} shows listings, sizes and the status: text and JSON maps. */
final class FsText {
    static final List<String> LS_HEADERS = List.of("TYPE", "MODE", "OWNER", "GROUP", "SIZE", "REPL", "MODIFIED",
            "NAME");
    static final List<String> STATUS_HEADERS = List.of("NODE", "USED", "QUOTA", "FREE", "CHUNKS");
    private static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss")
            .withZone(ZoneId.systemDefault());

    private FsText() {
    }

    /** One name a line; a directory's ends with {@code /}. */
    static String names(List<FsAdmin.Entry> entries) {
        StringBuilder b = new StringBuilder();
        for (FsAdmin.Entry e : entries) {
            b.append(e.name()).append(e.directory() && !e.name().equals("/") ? "/" : "").append('\n');
        }
        return b.toString();
    }

    /** The table of {@code ls -l}; an empty directory prints the headers alone. */
    static String table(List<FsAdmin.Entry> entries) {
        List<List<String>> rows = new ArrayList<>();
        for (FsAdmin.Entry e : entries) {
            rows.add(List.of(e.directory() ? "dir" : "file", permissions(e.mode()), e.owner(), e.group(),
                    Long.toString(e.size()), e.replication() == 0 ? "-" : Integer.toString(e.replication()),
                    TIME.format(Instant.ofEpochMilli(e.modifiedMillis())), e.name()));
        }
        return Output.table(LS_HEADERS, rows);
    }

    /** {@code rwxr-x---} from {@code 0750}. */
    static String permissions(int mode) {
        StringBuilder b = new StringBuilder(9);
        for (int shift = 6; shift >= 0; shift -= 3) {
            int bits = mode >> shift;
            b.append((bits & 4) != 0 ? 'r' : '-').append((bits & 2) != 0 ? 'w' : '-')
                    .append((bits & 1) != 0 ? 'x' : '-');
        }
        return b.toString();
    }

    /** {@code {"path": ..., "directory": ..., "entries": [...]}}, the mode in octal, times in ISO-8601 too. */
    static Map<String, Object> listingMap(FsAdmin.Listing l) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("path", l.path());
        m.put("directory", l.directory());
        List<Map<String, Object>> entries = new ArrayList<>();
        for (FsAdmin.Entry e : l.entries()) {
            Map<String, Object> em = new LinkedHashMap<>();
            em.put("name", e.name());
            em.put("type", e.directory() ? "directory" : "file");
            em.put("mode", String.format("%04o", e.mode()));
            em.put("owner", e.owner());
            em.put("group", e.group());
            em.put("size", e.size());
            em.put("replication", e.replication());
            em.put("modifiedMillis", e.modifiedMillis());
            em.put("modified", Instant.ofEpochMilli(e.modifiedMillis()).toString());
            entries.add(em);
        }
        m.put("entries", entries);
        return m;
    }

    /** The per-node table, then the totals. */
    static String status(FsAdmin.Status s) {
        List<List<String>> rows = new ArrayList<>();
        for (FsAdmin.Usage u : s.nodes()) {
            rows.add(List.of(Integer.toString(u.node()), bytes(u.usedBytes()),
                    u.quota() == Long.MAX_VALUE ? "none" : bytes(u.quota()), bytes(u.freeBytes()),
                    Long.toString(u.chunks())));
        }
        return Output.table(STATUS_HEADERS, rows)
                + "\nfiles " + s.files() + ", directories " + s.directories() + ", chunks " + s.chunks() + "\n"
                + "under-replicated " + s.underReplicated() + ", lost " + s.lost() + (s.lost() > 0
                ? " (their bytes read as errors until a copy comes back)" : "") + "\n"
                + "repairs " + s.repairsDone() + " chunks (" + bytes(s.repairBytes()) + "), repairing "
                + (s.repairing() ? "yes" : "no") + "\n"
                + "(as node " + s.node() + " sees it)\n";
    }

    /** The status with exact figures; a quota of none is null. */
    static Map<String, Object> statusMap(FsAdmin.Status s) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("node", s.node());
        List<Map<String, Object>> nodes = new ArrayList<>();
        for (FsAdmin.Usage u : s.nodes()) {
            Map<String, Object> um = new LinkedHashMap<>();
            um.put("node", u.node());
            um.put("usedBytes", u.usedBytes());
            um.put("quotaBytes", u.quota() == Long.MAX_VALUE ? null : u.quota());
            um.put("freeBytes", u.freeBytes());
            um.put("chunks", u.chunks());
            nodes.add(um);
        }
        m.put("nodes", nodes);
        m.put("files", s.files());
        m.put("directories", s.directories());
        m.put("chunks", s.chunks());
        m.put("underReplicated", s.underReplicated());
        m.put("lost", s.lost());
        m.put("repairsDone", s.repairsDone());
        m.put("repairBytes", s.repairBytes());
        m.put("repairing", s.repairing());
        m.put("healthy", s.underReplicated() == 0 && s.lost() == 0);
        return m;
    }

    /** {@code 512 B}, {@code 12.6 MB}: powers of 1000, as the MB/s of the copies. */
    static String bytes(long n) {
        if (n < 1000) {
            return n + " B";
        }
        String[] units = {"kB", "MB", "GB", "TB", "PB", "EB"};
        double v = n;
        int u = -1;
        while (v >= 999.95 && u < units.length - 1) {
            v /= 1000;
            u++;
        }
        return String.format(Locale.ROOT, "%.1f %s", v, units[u]);
    }

    /** Megabytes (10^6 bytes) a second. */
    static double mbPerSecond(long bytes, long nanos) {
        return nanos <= 0 ? 0 : bytes / 1e6 / (nanos / 1e9);
    }

    /**
     * The last name of {@code path} ({@code c} of {@code /a/b/c/}).
     *
     * @throws IllegalArgumentException for the root
     */
    static String lastName(String path) {
        String p = path.replaceAll("/+$", "");
        String name = p.substring(p.lastIndexOf('/') + 1);
        if (name.isEmpty() || name.equals(".") || name.equals("..")) {
            throw new IllegalArgumentException("PATH: " + path + " names no file");
        }
        return name;
    }
}
