package org.kerrighed.node;

import org.kerrighed.ipc.ClusterLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A node's start-up scheduler file ({@code scheduler.config}): {@link SchedChange} commands, one a line, read and
 * checked before the node joins (a bad line stops the start), applied once it joined, and only while the
 * cluster's scheduler configuration is still empty (version 0): a cluster that has one, set by another node's
 * file or by a tool, keeps it, and the file is skipped (logged). Nodes that start at the same time with files
 * take turns (a cluster lock), so one file applies, whole.
 *
 * <p>After a {@code load} line the node waits (at most 30 s) until the plugin is loaded, so that the next lines may
 * use its types. A line the scheduler refuses (an unknown type or port, a name in use, a broken plugin) is logged as an error
 * naming the file and the line, and the lines after it are not applied; the node goes on running.
 */
final class SchedStartup {
    private static final Logger log = LoggerFactory.getLogger(SchedStartup.class);
    private static final String LOCK = "krg.scheduler.config";
    private static final long LOCK_SECONDS = 30;
    /** How long a {@code load} line waits for the nodes to load the plugin, so that later lines may use its types. */
    private static final Duration PLUGIN_WAIT = Duration.ofSeconds(30);

    private final Path file;
    private final List<SchedChange.Line> lines;

    private SchedStartup(Path file, List<SchedChange.Line> lines) {
        this.file = file;
        this.lines = lines;
    }

    /**
     * Reads and parses {@code config}'s scheduler file; null when it names none.
     *
     * @throws IllegalArgumentException when the file cannot be read ({@code scheduler.config: FILE: cannot read})
     *                                  or a line is bad ({@code FILE:LINE: message})
     */
    static SchedStartup read(NodeConfig config) {
        Path file = config.schedulerConfig().orElse(null);
        if (file == null) {
            return null;
        }
        String text;
        try {
            text = Files.readString(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new IllegalArgumentException("scheduler.config: " + file + ": cannot read: " + e.getMessage(), e);
        }
        Path base = file.toAbsolutePath().getParent();
        return new SchedStartup(file, SchedChange.parseScript(text, file.toString(), base));
    }

    /**
     * Applies the file through {@code node}'s scheduler if the cluster's configuration is empty. Blocks while it
     * waits for another starting node's file (at most 30 s) and while it writes; never throws.
     */
    void apply(Node node) {
        try {
            ClusterLock lock = node.ipc().lock(LOCK, false, 0666);      // nodes of any credentials take turns
            if (!lock.tryLock(LOCK_SECONDS, TimeUnit.SECONDS)) {
                log.warn("node {}: {} not applied: another node held the start-up lock for {} s", node.id(), file,
                        LOCK_SECONDS);
                return;
            }
            try {
                if (lock.ownerDied()) {
                    lock.markConsistent();              // the version check below tells what that node applied
                }
                applyLocked(node);
            } finally {
                lock.unlock();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            log.warn("node {}: interrupted while applying {}", node.id(), file);
        } catch (RuntimeException e) {
            log.error("node {}: {} not applied: {}", node.id(), file, e.toString());
        }
    }

    private void applyLocked(Node node) throws InterruptedException {
        long version = node.scheduler().config().version();
        if (version != 0) {
            log.info("node {}: {} skipped: the cluster's scheduler configuration is at version {} already", node.id(),
                    file, version);
            return;
        }
        for (SchedChange.Line l : lines) {
            try {
                long v = l.change().apply(node.scheduler());
                log.info("node {}: {}:{}: {} (scheduler configuration version {})", node.id(), file, l.line(),
                        l.text(), v);
                if (l.change() instanceof SchedChange.Load && !node.scheduler().awaitApplied(v, PLUGIN_WAIT)) {
                    log.warn("node {}: {}:{}: the plugin was not loaded by every node in {} s", node.id(), file,
                            l.line(), PLUGIN_WAIT.toSeconds());      // the lines after it may not find its types
                }
            } catch (RuntimeException e) {
                log.error("node {}: {}:{}: {}: {}; the lines after it are not applied", node.id(), file, l.line(),
                        l.text(), e.getMessage());
                return;
            }
        }
    }
}
