package org.kerrighed.fs;

import java.io.IOException;
import java.nio.file.attribute.BasicFileAttributeView;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileAttributeView;
import java.nio.file.attribute.FileOwnerAttributeView;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.GroupPrincipal;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.UserPrincipal;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The attribute views of a path ({@code basic}, {@code posix}, {@code owner}, {@code krg}) and the
 * {@code "view:name,..."} forms of {@code Files.readAttributes} and {@code Files.setAttribute}. A view is bound to
 * its path, not to a file: each call looks the path up again.
 */
final class KrgAttributeViews {
    private static final List<String> BASIC = List.of("lastModifiedTime", "lastAccessTime", "creationTime", "size",
            "isRegularFile", "isDirectory", "isSymbolicLink", "isOther", "fileKey");
    private static final List<String> POSIX_ONLY = List.of("permissions", "owner", "group");
    private static final Map<String, List<String>> NAMES = Map.of(
            "basic", BASIC,
            "posix", concat(BASIC, POSIX_ONLY),
            "owner", List.of("owner"),
            KrgFileAttributeView.NAME, List.of("replication"));

    private KrgAttributeViews() {
    }

    private static List<String> concat(List<String> a, List<String> b) {
        return java.util.stream.Stream.concat(a.stream(), b.stream()).toList();
    }

    /** The view of {@code type} on {@code path}, or null when {@code type} is not one of the four. */
    @SuppressWarnings("unchecked")
    static <V extends FileAttributeView> V view(KrgPath path, Class<V> type) {
        if (type == BasicFileAttributeView.class) {
            return (V) new Basic(path);
        }
        if (type == PosixFileAttributeView.class || type == FileOwnerAttributeView.class) {
            return (V) new Posix(path, type == PosixFileAttributeView.class ? "posix" : "owner");
        }
        if (type == KrgFileAttributeView.class) {
            return (V) new Krg(path);
        }
        return null;
    }

    static KrgFileAttributes attributes(KrgPath path) throws IOException {
        return new KrgFileAttributes(path.getFileSystem().engine().stat(path.enginePath()));
    }

    /**
     * The attributes named by {@code spec} ({@code [view:]name,name...} or {@code [view:]*}), read in one lookup.
     *
     * @throws UnsupportedOperationException for a view other than the four
     * @throws IllegalArgumentException for a name the view does not have
     */
    static Map<String, Object> read(KrgPath path, String spec) throws IOException {
        int colon = spec.indexOf(':');
        String view = colon < 0 ? "basic" : spec.substring(0, colon);
        List<String> known = names(view);
        List<String> wanted = Arrays.asList(spec.substring(colon + 1).split(","));
        for (String n : wanted) {
            if (!n.equals("*") && !known.contains(n)) {
                throw new IllegalArgumentException("'" + n + "' is not an attribute of view '" + view + "'");
            }
        }
        KrgFileAttributes a = attributes(path);
        Map<String, Object> values = new HashMap<>();
        for (String n : wanted.contains("*") ? known : wanted) {
            values.put(n, value(a, n));
        }
        return values;
    }

    private static List<String> names(String view) {
        List<String> known = NAMES.get(view);
        if (known == null) {
            throw new UnsupportedOperationException("view '" + view + "' is not one of " + NAMES.keySet());
        }
        return known;
    }

    private static Object value(KrgFileAttributes a, String name) {
        return switch (name) {
            case "lastModifiedTime" -> a.lastModifiedTime();
            case "lastAccessTime" -> a.lastAccessTime();
            case "creationTime" -> a.creationTime();
            case "size" -> a.size();
            case "isRegularFile" -> a.isRegularFile();
            case "isDirectory" -> a.isDirectory();
            case "isSymbolicLink" -> a.isSymbolicLink();
            case "isOther" -> a.isOther();
            case "fileKey" -> a.fileKey();
            case "permissions" -> a.permissions();
            case "owner" -> a.owner();
            case "group" -> a.group();
            case "replication" -> a.inode().replication();
            default -> throw new IllegalArgumentException("'" + name + "' is not an attribute");
        };
    }

    /**
     * Sets attribute {@code spec} ({@code [view:]name}) to {@code value}.
     *
     * @throws UnsupportedOperationException for a view other than the four
     * @throws IllegalArgumentException for a name the view does not have or cannot set
     * @throws ClassCastException when {@code value} is not of the attribute's type
     */
    @SuppressWarnings("unchecked")
    static void set(KrgPath path, String spec, Object value) throws IOException {
        int colon = spec.indexOf(':');
        String view = colon < 0 ? "basic" : spec.substring(0, colon);
        String name = spec.substring(colon + 1);
        if (!names(view).contains(name)) {
            throw new IllegalArgumentException("'" + name + "' is not an attribute of view '" + view + "'");
        }
        Posix p = new Posix(path, view);
        switch (name) {
            case "lastModifiedTime" -> p.setTimes((FileTime) value, null, null);
            case "lastAccessTime" -> p.setTimes(null, (FileTime) value, null);
            case "creationTime" -> p.setTimes(null, null, (FileTime) value);
            case "permissions" -> p.setPermissions((Set<PosixFilePermission>) value);
            case "owner" -> p.setOwner((UserPrincipal) value);
            case "group" -> p.setGroup((GroupPrincipal) value);
            case "replication" -> new Krg(path).setReplication((Integer) value);
            default -> throw new IllegalArgumentException("'" + name + "' of view '" + view + "' cannot be set");
        }
    }

    private static class Basic implements BasicFileAttributeView {
        final KrgPath path;

        Basic(KrgPath path) {
            this.path = path;
        }

        @Override
        public String name() {
            return "basic";
        }

        @Override
        public BasicFileAttributes readAttributes() throws IOException {
            return attributes(path);
        }

        /** Sets the times given; null keeps one. */
        @Override
        public void setTimes(FileTime modified, FileTime accessed, FileTime created) throws IOException {
            if (modified == null && accessed == null && created == null) {
                return;
            }
            path.getFileSystem().engine().setTimes(path.enginePath(), micros(modified), micros(accessed),
                    micros(created));
        }

        private static Long micros(FileTime t) {
            return t == null ? null : KrgFileAttributes.micros(t);
        }
    }

    /** The posix view, and the owner view (the same operations under the name "owner"). */
    private static final class Posix extends Basic implements PosixFileAttributeView {
        private final String name;

        Posix(KrgPath path, String name) {
            super(path);
            this.name = name;
        }

        @Override
        public String name() {
            return name;
        }

        @Override
        public PosixFileAttributes readAttributes() throws IOException {
            return attributes(path);
        }

        @Override
        public void setPermissions(Set<PosixFilePermission> perms) throws IOException {
            path.getFileSystem().engine().setMode(path.enginePath(), KrgFileAttributes.mode(perms));
        }

        @Override
        public void setGroup(GroupPrincipal group) throws IOException {
            path.getFileSystem().engine().setOwner(path.enginePath(), -1, KrgPrincipals.gid(group));
        }

        @Override
        public UserPrincipal getOwner() throws IOException {
            return attributes(path).owner();
        }

        @Override
        public void setOwner(UserPrincipal owner) throws IOException {
            path.getFileSystem().engine().setOwner(path.enginePath(), KrgPrincipals.uid(owner), -1);
        }
    }

    private record Krg(KrgPath path) implements KrgFileAttributeView {
        @Override
        public int replication() throws IOException {
            return attributes(path).inode().replication();
        }

        @Override
        public void setReplication(int copies) throws IOException {
            path.getFileSystem().engine().setReplication(path.enginePath(), copies);
        }
    }
}
