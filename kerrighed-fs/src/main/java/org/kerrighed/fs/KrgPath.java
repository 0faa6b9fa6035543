package org.kerrighed.fs;

import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.InvalidPathException;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.ProviderMismatchException;
import java.nio.file.WatchEvent;
import java.nio.file.WatchKey;
import java.nio.file.WatchService;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * A path of a {@link KrgFileSystem}: {@code /}-separated names, absolute when it starts with {@code /}. Its syntax
 * and the results of the syntactic operations are those of the default file system on Unix: repeated and trailing
 * slashes are dropped, {@code ""} is the empty path, {@code "."} and {@code ".."} are names until {@link #normalize()}.
 * A name may not contain NUL ({@link InvalidPathException}).
 *
 * <p>{@code ..} never climbs above the root: {@code normalize()} of {@code /..} is {@code /} (as POSIX resolves
 * {@code /..}), and every operation that reaches the file system first makes the path absolute (against {@code /})
 * and normalizes it, so no path names anything outside the cluster's tree. As there are no symbolic links,
 * normalizing before the lookup finds what a step-by-step lookup would, except that {@code a/missing/..} finds
 * {@code a} where a Unix lookup fails.
 *
 * <p>Immutable and thread-safe.
 */
public final class KrgPath implements Path {
    private static final String[] NO_NAMES = new String[0];

    private final KrgFileSystem fs;
    private final String path;
    private final String[] names;

    KrgPath(KrgFileSystem fs, String input) {
        this.fs = fs;
        this.path = clean(input);
        this.names = split(path);
    }

    private static String clean(String input) {
        StringBuilder sb = new StringBuilder(input.length());
        char previous = 0;
        for (int i = 0; i < input.length(); i++) {
            char c = input.charAt(i);
            if (c == '\u0000') {
                throw new InvalidPathException(input, "Nul character not allowed", i);
            }
            if (c != '/' || previous != '/') {
                sb.append(c);
            }
            previous = c;
        }
        if (sb.length() > 1 && sb.charAt(sb.length() - 1) == '/') {
            sb.setLength(sb.length() - 1);
        }
        return sb.toString();
    }

    private static String[] split(String path) {
        if (path.equals("/")) {
            return NO_NAMES;
        }
        return (path.startsWith("/") ? path.substring(1) : path).split("/", -1);
    }

    /** This path made absolute and normalized: the form the engine takes. */
    String enginePath() {
        return toAbsolutePath().normalize().path;
    }

    private KrgPath of(String p) {
        return new KrgPath(fs, p);
    }

    private KrgPath join(boolean absolute, List<String> parts) {
        return of((absolute ? "/" : "") + String.join("/", parts));
    }

    private boolean isEmpty() {
        return path.isEmpty();
    }

    private KrgPath checked(Path other) {
        Objects.requireNonNull(other);
        if (!(other instanceof KrgPath p)) {
            throw new ProviderMismatchException("not a krg path: " + other);
        }
        return p;
    }

    @Override
    public KrgFileSystem getFileSystem() {
        return fs;
    }

    @Override
    public boolean isAbsolute() {
        return path.startsWith("/");
    }

    @Override
    public KrgPath getRoot() {
        return isAbsolute() ? of("/") : null;
    }

    @Override
    public KrgPath getFileName() {
        if (names.length == 0) {
            return null;
        }
        return names.length == 1 && !isAbsolute() ? this : of(names[names.length - 1]);
    }

    @Override
    public KrgPath getParent() {
        if (names.length == 0 || (names.length == 1 && !isAbsolute())) {
            return null;
        }
        return join(isAbsolute(), Arrays.asList(names).subList(0, names.length - 1));
    }

    @Override
    public int getNameCount() {
        return names.length;
    }

    @Override
    public KrgPath getName(int index) {
        if (index < 0 || index >= names.length) {
            throw new IllegalArgumentException("name index " + index + " not in 0.." + (names.length - 1));
        }
        return of(names[index]);
    }

    @Override
    public KrgPath subpath(int beginIndex, int endIndex) {
        if (beginIndex < 0 || beginIndex >= names.length || endIndex > names.length || beginIndex >= endIndex) {
            throw new IllegalArgumentException("subpath " + beginIndex + ".." + endIndex + " of " + names.length
                    + " names");
        }
        return join(false, Arrays.asList(names).subList(beginIndex, endIndex));
    }

    @Override
    public boolean startsWith(Path other) {
        if (!(Objects.requireNonNull(other) instanceof KrgPath that)) {
            return false;
        }
        if (that.isEmpty()) {
            return isEmpty();
        }
        if (that.isAbsolute() != isAbsolute() || that.names.length > names.length) {
            return false;
        }
        return Arrays.equals(names, 0, that.names.length, that.names, 0, that.names.length);
    }

    @Override
    public boolean endsWith(Path other) {
        if (!(Objects.requireNonNull(other) instanceof KrgPath that)) {
            return false;
        }
        if (that.isEmpty()) {
            return isEmpty();
        }
        if (that.isAbsolute()) {
            return that.path.equals(path);
        }
        if (that.names.length > names.length) {
            return false;
        }
        return Arrays.equals(names, names.length - that.names.length, names.length, that.names, 0,
                that.names.length);
    }

    /**
     * Drops {@code .} names and each name followed by {@code ..}. A relative path keeps its leading {@code ..}
     * names; an absolute one drops them ({@code /../a} is {@code /a}): nothing escapes the root.
     */
    @Override
    public KrgPath normalize() {
        List<String> kept = new ArrayList<>(names.length);
        for (String n : names) {
            if (n.equals(".")) {
                continue;
            }
            if (n.equals("..")) {
                if (!kept.isEmpty() && !kept.getLast().equals("..")) {
                    kept.removeLast();
                    continue;
                }
                if (isAbsolute()) {
                    continue;
                }
            }
            kept.add(n);
        }
        return kept.size() == names.length ? this : join(isAbsolute(), kept);
    }

    @Override
    public KrgPath resolve(Path other) {
        KrgPath that = checked(other);
        if (that.isAbsolute() || isEmpty()) {
            return that;
        }
        if (that.isEmpty()) {
            return this;
        }
        return of(path.equals("/") ? "/" + that.path : path + "/" + that.path);
    }

    @Override
    public KrgPath relativize(Path other) {
        KrgPath child = checked(other);
        if (child.equals(this)) {
            return of("");
        }
        if (isAbsolute() != child.isAbsolute()) {
            throw new IllegalArgumentException("cannot relativize " + other + " against " + this
                    + ": one is absolute, the other relative");
        }
        if (isEmpty()) {
            return child;
        }
        KrgPath base = this;
        if (hasDots() || child.hasDots()) {
            base = base.normalize();
            child = child.normalize();
        }
        int common = 0;
        int n = Math.min(base.names.length, child.names.length);
        while (common < n && base.names[common].equals(child.names[common])) {
            common++;
        }
        List<String> parts = new ArrayList<>();
        for (int i = common; i < base.names.length; i++) {
            String name = base.names[i];
            if (name.equals("..")) {
                throw new IllegalArgumentException("cannot relativize " + other + " against " + this
                        + ": the base has '..' past their common prefix");
            }
            if (!name.isEmpty()) {
                parts.add("..");
            }
        }
        for (int i = common; i < child.names.length; i++) {
            parts.add(child.names[i]);
        }
        return join(false, parts);
    }

    private boolean hasDots() {
        for (String n : names) {
            if (n.equals(".") || n.equals("..")) {
                return true;
            }
        }
        return false;
    }

    /** The {@code krg://CLUSTER/...} URI of this path made absolute (the form that names no node). */
    @Override
    public URI toUri() {
        try {
            return new URI(KrgFileSystemProvider.SCHEME, fs.clusterName(), toAbsolutePath().path, null, null);
        } catch (URISyntaxException e) {
            throw new IllegalStateException("cluster name " + fs.clusterName() + " is not a URI authority", e);
        }
    }

    /** This path if absolute, else this path resolved against the root. */
    @Override
    public KrgPath toAbsolutePath() {
        return isAbsolute() ? this : of("/" + path);
    }

    /**
     * This path made absolute and normalized, once the file it names is found (there are no links to follow;
     * {@code options} are ignored).
     *
     * @throws java.nio.file.NoSuchFileException when it does not exist
     */
    @Override
    public KrgPath toRealPath(LinkOption... options) throws IOException {
        KrgPath real = toAbsolutePath().normalize();
        fs.engine().stat(real.path);
        return real;
    }

    /** @throws UnsupportedOperationException always: the file system has no watch service */
    @Override
    public WatchKey register(WatchService watcher, WatchEvent.Kind<?>[] events, WatchEvent.Modifier... modifiers) {
        throw new UnsupportedOperationException("krg file systems have no watch service");
    }

    @Override
    public int compareTo(Path other) {
        return path.compareTo(((KrgPath) other).path);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof KrgPath p && p.fs == fs && p.path.equals(path);
    }

    @Override
    public int hashCode() {
        return path.hashCode();
    }

    @Override
    public String toString() {
        return path;
    }
}
