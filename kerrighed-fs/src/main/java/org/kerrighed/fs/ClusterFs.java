package org.kerrighed.fs;

import org.kerrighed.fs.internal.FsEngine;
import org.kerrighed.fs.internal.FsWire;
import org.kerrighed.kddm.Kddm;
import org.kerrighed.rpc.TypeRegistrar;

import java.nio.file.Path;

/**
 * A node's share of the cluster file system: every node of a cluster that uses it starts one on its KDDM, and its
 * {@link #fileSystem()} is then reachable through {@code java.nio.file} ({@code Path.of(URI.create("krg://CLUSTER/a"))},
 * {@code FileSystems.getFileSystem}). Thread-safe. {@link #close()} closes the file system (its open channels
 * fail with {@code ClosedFileSystemException}, {@code ClosedChannelException}) and stops serving chunks.
 */
public final class ClusterFs implements AutoCloseable {
    private final FsEngine engine;
    private final KrgFileSystem fileSystem;

    private ClusterFs(FsEngine engine) {
        this.engine = engine;
        KrgFileSystemProvider provider = KrgFileSystemProvider.instance();
        this.fileSystem = new KrgFileSystem(provider, engine);
        provider.register(fileSystem);
    }

    /** Starts the file system on {@code kddm}'s node: its metadata sets, its chunk store and services. */
    public static ClusterFs start(Kddm kddm, FsConfig config) {
        return new ClusterFs(new FsEngine(kddm, config));
    }

    /**
     * The types a node registers for the file system (ids 6000-6999). Service ids: 190-199; KDDM static sets:
     * 1400-1409.
     */
    public static TypeRegistrar types() {
        return FsWire::registerTypes;
    }

    /** This node's view of the cluster file system. */
    public KrgFileSystem fileSystem() {
        return fileSystem;
    }

    /** A path of this node's file system, as {@link java.nio.file.FileSystem#getPath}. */
    public Path path(String first, String... more) {
        return fileSystem.getPath(first, more);
    }

    /** Storage and replication health, every live node's figures (asks each node). */
    public FsStatus status() {
        return engine.status();
    }

    /** Gives the {@code /proc} tree its contents (before, {@code /proc} is empty). */
    public void setProcSource(ProcSource source) {
        engine.setProcSource(source);
    }

    FsEngine engine() {
        return engine;
    }

    @Override
    public void close() {
        try {
            fileSystem.close();
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        } finally {
            engine.close();
        }
    }
}
