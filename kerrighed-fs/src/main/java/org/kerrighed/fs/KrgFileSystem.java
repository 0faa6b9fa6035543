package org.kerrighed.fs;

import org.kerrighed.fs.internal.FsEngine;

import java.io.Closeable;
import java.io.IOException;
import java.nio.file.ClosedFileSystemException;
import java.nio.file.FileStore;
import java.nio.file.FileSystem;
import java.nio.file.Path;
import java.nio.file.PathMatcher;
import java.nio.file.WatchService;
import java.nio.file.attribute.UserPrincipalLookupService;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;

/**
 * One node's view of its cluster's file system: one tree rooted at {@code /}, the same from every node. Made by
 * {@link ClusterFs#start}, found through {@code krg://CLUSTER/...} URIs ({@link KrgFileSystemProvider}).
 *
 * <p>{@link #close()} closes the channels and streams opened through it; afterwards every method of the file
 * system and every file operation on its paths throws {@link ClosedFileSystemException} (the syntactic methods of
 * {@link KrgPath} keep working). The cluster's files are not affected: other nodes keep using them. Thread-safe.
 */
public final class KrgFileSystem extends FileSystem {
    /** The attribute views of every file: {@code basic}, {@code posix}, {@code owner} and {@code krg}. */
    static final Set<String> VIEWS = Set.of("basic", "posix", "owner", KrgFileAttributeView.NAME);

    private final KrgFileSystemProvider provider;
    private final FsEngine engine;
    private final String clusterName;
    private final int nodeId;
    private final KrgPath root;
    private final KrgFileStore store;
    private final Set<Closeable> open = ConcurrentHashMap.newKeySet();
    private volatile boolean closed;

    KrgFileSystem(KrgFileSystemProvider provider, FsEngine engine) {
        this.provider = provider;
        this.engine = engine;
        this.clusterName = engine.clusterName();
        this.nodeId = engine.nodeId();
        this.root = new KrgPath(this, "/");
        this.store = new KrgFileStore(this);
    }

    /** The name of the cluster, the authority of its URIs. */
    public String clusterName() {
        return clusterName;
    }

    /** The node this view belongs to. */
    public int nodeId() {
        return nodeId;
    }

    /** The engine, once this file system is checked open. @throws ClosedFileSystemException */
    FsEngine engine() {
        ensureOpen();
        return engine;
    }

    void ensureOpen() {
        if (closed) {
            throw new ClosedFileSystemException();
        }
    }

    /** Tracks a channel or stream to close with this file system. @throws ClosedFileSystemException */
    void opened(Closeable c) throws IOException {
        open.add(c);
        if (closed) {
            open.remove(c);
            c.close();
            throw new ClosedFileSystemException();
        }
    }

    void closed(Closeable c) {
        open.remove(c);
    }

    @Override
    public KrgFileSystemProvider provider() {
        return provider;
    }

    /** Closes this node's view (idempotent): its open channels first, then it leaves the provider's registry. */
    @Override
    public void close() throws IOException {
        if (closed) {
            return;
        }
        closed = true;
        IOException failure = null;
        for (Closeable c : new ArrayList<>(open)) {
            try {
                c.close();
            } catch (IOException e) {
                if (failure == null) {
                    failure = e;
                } else {
                    failure.addSuppressed(e);
                }
            }
        }
        open.clear();
        provider.unregister(this);
        if (failure != null) {
            throw failure;
        }
    }

    @Override
    public boolean isOpen() {
        return !closed;
    }

    @Override
    public boolean isReadOnly() {
        return false;
    }

    @Override
    public String getSeparator() {
        return "/";
    }

    @Override
    public Iterable<Path> getRootDirectories() {
        ensureOpen();
        return List.of(root);
    }

    /** The one store: the storage of every node. */
    @Override
    public Iterable<FileStore> getFileStores() {
        ensureOpen();
        return List.of(store);
    }

    KrgFileStore store() {
        return store;
    }

    @Override
    public Set<String> supportedFileAttributeViews() {
        return VIEWS;
    }

    /** The path of {@code first} and the non-empty strings of {@code more}, joined with {@code /}. */
    @Override
    public KrgPath getPath(String first, String... more) {
        ensureOpen();
        if (more.length == 0) {
            return new KrgPath(this, first);
        }
        StringBuilder sb = new StringBuilder(first);
        for (String s : more) {
            if (!s.isEmpty()) {
                if (!sb.isEmpty()) {
                    sb.append('/');
                }
                sb.append(s);
            }
        }
        return new KrgPath(this, sb.toString());
    }

    /**
     * A matcher of path strings, for {@code glob:PATTERN} (the default file system's glob syntax on Unix, see
     * {@link java.nio.file.FileSystem#getPathMatcher}) or {@code regex:PATTERN} ({@link Pattern}).
     *
     * @throws IllegalArgumentException when there is no {@code syntax:} prefix
     * @throws java.util.regex.PatternSyntaxException when the pattern is invalid
     * @throws UnsupportedOperationException for another syntax
     */
    @Override
    public PathMatcher getPathMatcher(String syntaxAndPattern) {
        ensureOpen();
        int colon = syntaxAndPattern.indexOf(':');
        if (colon <= 0) {
            throw new IllegalArgumentException("'" + syntaxAndPattern + "' is not syntax:pattern");
        }
        String syntax = syntaxAndPattern.substring(0, colon).toLowerCase(Locale.ROOT);
        String pattern = syntaxAndPattern.substring(colon + 1);
        Pattern p = switch (syntax) {
            case "glob" -> Pattern.compile(Globs.toRegex(pattern));
            case "regex" -> Pattern.compile(pattern);
            default -> throw new UnsupportedOperationException("syntax '" + syntax + "' is not glob or regex");
        };
        return path -> p.matcher(path.toString()).matches();
    }

    /** Principals named by decimal user and group ids ({@code "0"}, {@code "1000"}). */
    @Override
    public UserPrincipalLookupService getUserPrincipalLookupService() {
        ensureOpen();
        return KrgPrincipals.LOOKUP;
    }

    /** @throws UnsupportedOperationException always: changes are not watched */
    @Override
    public WatchService newWatchService() {
        ensureOpen();
        throw new UnsupportedOperationException("krg file systems have no watch service");
    }

    @Override
    public String toString() {
        return "krg://" + nodeId + "@" + clusterName + "/";
    }
}
