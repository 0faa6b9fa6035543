package org.kerrighed.ipc;

/**
 * A pipe as {@link Ipc#pipeSnapshot} saw it.
 *
 * @param pipe     the pipe's id
 * @param capacity its buffer's size
 * @param readers  reading ends open, cluster-wide
 * @param writers  writing ends open, cluster-wide
 * @param buffered the bytes written and not read yet, in order
 */
public record PipeSnapshot(long pipe, int capacity, int readers, int writers, byte[] buffered) {
}
