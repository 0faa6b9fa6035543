package org.kerrighed.scheduler;

import java.net.URLClassLoader;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * Where the test plugins of {@link PluginJars} record the class loaders they were made on (they reach it through
 * their loader's parent, the test class path), so that a test can tell whether a loader was closed.
 */
public final class PluginTrace {
    private static final Map<String, List<URLClassLoader>> LOADERS = new ConcurrentHashMap<>();

    private PluginTrace() {
    }

    /** Called by a test plugin's factory: it was made on {@code loader}. */
    public static void made(String tag, ClassLoader loader) {
        LOADERS.computeIfAbsent(tag, t -> new CopyOnWriteArrayList<>()).add((URLClassLoader) loader);
    }

    /** The loaders factories tagged {@code tag} were made on, each once. */
    static List<URLClassLoader> loaders(String tag) {
        return LOADERS.getOrDefault(tag, List.of()).stream().distinct().toList();
    }

    /** True when {@code loader} was closed: it no longer finds the resource {@code marker} its JAR holds. */
    static boolean closed(URLClassLoader loader, String marker) {
        return loader.findResource(marker) == null;
    }
}
