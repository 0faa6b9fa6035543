package org.kerrighed.rpc.internal;

import io.netty.channel.Channel;
import io.netty.util.concurrent.FastThreadLocal;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.List;

/**
 * The flushes an I/O thread owes for frames it wrote while handling frames read from a link.
 *
 * <p>{@link LinkHandler} marks the start of a read batch ({@link #begin}) and settles it when the
 * channel's read completes ({@link #complete}); {@link Peer#send} on that thread, for a channel of that
 * thread, writes without flushing and records the channel here. Frames keep their order (Netty keeps the
 * order of writes on a channel); they only leave in fewer syscalls. Used on event-loop threads only.
 */
final class ReadBatch {
    private static final Logger log = LoggerFactory.getLogger(ReadBatch.class);
    private static final FastThreadLocal<ReadBatch> CURRENT = new FastThreadLocal<>() {
        @Override
        protected ReadBatch initialValue() {
            return new ReadBatch();
        }
    };

    boolean reading;
    private final ArrayList<Channel> unflushed = new ArrayList<>(4);
    private final ArrayList<Runnable> after = new ArrayList<>(4);

    static ReadBatch current() {
        return CURRENT.get();
    }

    void begin() {
        reading = true;
    }

    /** Records that {@code ch} (of this thread's event loop) has frames written but not flushed. */
    void deferFlush(Channel ch) {
        ArrayList<Channel> u = unflushed;
        for (int i = u.size() - 1; i >= 0; i--) {
            if (u.get(i) == ch) {
                return;
            }
        }
        u.add(ch);
    }

    /** Runs {@code task} once this read batch's flushes are done ({@link Peer#send(io.netty.buffer.ByteBuf, Runnable)}). */
    void afterFlush(Runnable task) {
        after.add(task);
    }

    /** The read batch ended: flushes every channel written to during it, then runs the tasks left for after. */
    void complete() {
        reading = false;
        ArrayList<Channel> u = unflushed;
        if (!u.isEmpty()) {
            // Flushing can run handlers that send again (outside a read now, so they flush on their own).
            Channel[] chs = u.toArray(new Channel[0]);
            u.clear();
            for (Channel ch : chs) {
                ch.flush();
            }
        }
        Runnable tasks = takeAll(after);
        if (tasks != null) {
            tasks.run();
        }
    }

    /** Empties {@code tasks} into one task that runs them in order ({@link #runAll}); null if there are none. */
    static Runnable takeAll(List<Runnable> tasks) {
        if (tasks.isEmpty()) {
            return null;
        }
        List<Runnable> all = List.copyOf(tasks);
        tasks.clear();
        return () -> runAll(all);
    }

    /**
     * Runs {@code tasks} in order; one that throws is logged and the next ones run (a VirtualMachineError propagates:
     * the tasks after it are dropped, the JVM is failing).
     */
    static void runAll(List<Runnable> tasks) {
        for (Runnable t : tasks) {
            try {
                t.run();
            } catch (RuntimeException | Error e) {
                if (e instanceof VirtualMachineError vme && !(e instanceof StackOverflowError)) {
                    throw vme;
                }
                log.warn("a task to run after a reply was sent failed", e);
            }
        }
    }
}
