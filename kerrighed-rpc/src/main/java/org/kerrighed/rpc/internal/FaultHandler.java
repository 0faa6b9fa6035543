package org.kerrighed.rpc.internal;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import io.netty.util.ReferenceCountUtil;
import org.kerrighed.rpc.testing.FaultAction;
import org.kerrighed.rpc.testing.FaultInjector;

import java.util.ArrayDeque;
import java.util.concurrent.TimeUnit;

/**
 * Applies a {@link FaultInjector} to the frames written on one authenticated channel (tests only).
 * Delayed frames wait in a queue; every frame behind a delayed one waits too, so order is kept.
 * Runs on the channel's event loop only.
 */
final class FaultHandler extends ChannelOutboundHandlerAdapter {
    private final FaultInjector faults;
    private final int from;
    private final int to;
    private final ArrayDeque<Held> held = new ArrayDeque<>();
    private boolean drainScheduled;

    private record Held(Object msg, ChannelPromise promise, long releaseAtNanos) {
    }

    FaultHandler(FaultInjector faults, int from, int to) {
        this.faults = faults;
        this.from = from;
        this.to = to;
    }

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
        FaultAction action = faults.onSend(from, to);
        if (action instanceof FaultAction.Drop) {
            ReferenceCountUtil.release(msg);
            promise.trySuccess();
            return;
        }
        long now = System.nanoTime();
        long at = action instanceof FaultAction.Delay d ? now + d.by().toNanos() : now;
        if (held.isEmpty() && at <= now) {
            ctx.write(msg, promise);
            return;
        }
        if (!held.isEmpty()) {
            at = Math.max(at, held.peekLast().releaseAtNanos());
        }
        held.add(new Held(msg, promise, at));
        scheduleDrain(ctx);
    }

    private void scheduleDrain(ChannelHandlerContext ctx) {
        if (drainScheduled || held.isEmpty()) {
            return;
        }
        drainScheduled = true;
        long wait = Math.max(0, held.peekFirst().releaseAtNanos() - System.nanoTime());
        ctx.executor().schedule(() -> drain(ctx), wait, TimeUnit.NANOSECONDS);
    }

    private void drain(ChannelHandlerContext ctx) {
        drainScheduled = false;
        long now = System.nanoTime();
        boolean wrote = false;
        while (!held.isEmpty() && held.peekFirst().releaseAtNanos() <= now) {
            Held h = held.poll();
            ctx.write(h.msg(), h.promise());
            wrote = true;
        }
        if (wrote) {
            ctx.flush();
        }
        scheduleDrain(ctx);
    }

    @Override
    public void close(ChannelHandlerContext ctx, ChannelPromise promise) {
        Held h;
        while ((h = held.poll()) != null) {
            ReferenceCountUtil.release(h.msg());
            h.promise().tryFailure(new java.nio.channels.ClosedChannelException());
        }
        ctx.close(promise);
    }
}
