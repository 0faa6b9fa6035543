package org.kerrighed.fs.internal;

import org.kerrighed.fs.ClusterFs;
import org.kerrighed.fs.FsConfig;
import org.kerrighed.kddm.Kddm;
import org.kerrighed.kddm.testing.KddmCluster;

import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/** In-process KDDM nodes each running the file-system engine, for the engine's tests (one per test class). */
final class Engines extends KddmCluster {
    private final Map<Kddm, FsEngine> engines;

    Engines(int n, FsConfig config) {
        this(n, config, new ConcurrentHashMap<>());
    }

    private Engines(int n, FsConfig config, Map<Kddm, FsEngine> engines) {
        super(n, List.of(k -> engines.put(k, new FsEngine(k, config))), ClusterFs.types());
        this.engines = engines;
    }

    FsEngine engine(int node) {
        return engines.get(kddm(node));
    }

    /** Node {@code id}'s engine stops, then the node is killed and the others told. */
    @Override
    public synchronized void crash(int id) {
        engines.remove(kddm(id)).close();
        super.crash(id);
    }

    @Override
    public synchronized void close() {
        engines.values().forEach(FsEngine::close);
        super.close();
    }
}
