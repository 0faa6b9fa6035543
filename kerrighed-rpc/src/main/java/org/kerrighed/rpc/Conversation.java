package org.kerrighed.rpc;

import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeoutException;

/**
 * An ordered two-way message stream between two nodes, with credit-based back-pressure in each direction.
 *
 * <p><b>Order.</b> Messages arrive in the order they were sent, on each side.
 * <p><b>Back-pressure.</b> The receiver grants credit for at most {@link RpcConfig#conversationWindow()}
 * unconsumed messages; a sender out of credit waits in {@link #send} until the receiver consumes. Memory
 * held per conversation is therefore bounded by the window on both sides.
 * <p><b>Ending.</b> {@link #close()} half-closes: this side sends no more, and once the peer has read
 * everything its {@link #receive} returns empty. {@link #abort} ends both directions at once.
 * <p><b>Failure.</b> When the link to the peer closes, every blocked and later {@code send} and
 * {@code receive} fails with {@link LinkClosedException} at once.
 * <p><b>Threads.</b> One thread may send while another receives; concurrent senders are serialised.
 */
public interface Conversation extends AutoCloseable {
    /** The other side's node id (or client id). */
    int peer();

    /**
     * Sends one message, waiting up to {@code timeout} for credit.
     *
     * @throws TimeoutException when no credit arrived in time (the message was not sent)
     * @throws LinkClosedException when the link closed
     * @throws IllegalStateException when this side already closed
     * @throws SerializationException when the message's type is not registered (nothing sent)
     * @throws NullPointerException when {@code message} is null (an empty receive means the peer closed)
     */
    void send(Object message, Duration timeout) throws InterruptedException, TimeoutException;

    /** Sends with the default timeout ({@link RpcConfig#defaultCallTimeout()}). */
    default void send(Object message) throws InterruptedException, TimeoutException {
        send(message, null);
    }

    /**
     * Takes the next message, waiting up to {@code timeout}. Returns empty at end of stream (the peer closed
     * its side and everything it sent has been read).
     *
     * @throws TimeoutException when nothing arrived in time
     * @throws LinkClosedException when the link closed
     * @throws RemoteException when the peer aborted with an error
     */
    Optional<Object> receive(Duration timeout) throws InterruptedException, TimeoutException;

    /** Half-closes: no more sends from this side. Idempotent. */
    @Override
    void close();

    /** Ends both directions now; the peer's pending and later operations fail with {@code reason}. */
    void abort(String reason);

    /** Completes when both sides have closed, or exceptionally when the conversation failed. */
    CompletableFuture<Void> done();
}
