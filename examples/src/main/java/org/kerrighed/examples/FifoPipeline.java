package org.kerrighed.examples;

import org.kerrighed.ipc.ClusterBlockingQueue;
import org.kerrighed.ipc.PipeReadEnd;
import org.kerrighed.ipc.PipeWriteEnd;
import org.kerrighed.node.Kerrighed;
import org.kerrighed.node.Node;
import org.kerrighed.rpc.HostAndPort;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * A three-stage pipeline across three nodes, like {@code producer | counter > results} in a shell, with a named
 * FIFO between the first two stages and a cluster queue after the second:
 *
 * <ol>
 *   <li>node 1 writes lines of text into the FIFO {@value #FIFO} (opened by name; bytes go straight to the
 *       reader's node) and closes it, which the reader sees as EOF;</li>
 *   <li>node 2 reads the lines from the FIFO, counts the words of each line and puts one {@link LineCount}
 *       per line into the queue {@value #QUEUE}, then an end marker;</li>
 *   <li>node 0 takes the counts from the queue until the marker and sums them.</li>
 * </ol>
 *
 * <p>The FIFO is created with mode 0600 by node 0: the stages run with the same (default, root) credentials.
 * The queue is bounded (16 entries): the counter blocks when the consumer falls behind, as a pipe would.
 *
 * <p>Run {@link #main} (see examples/README.md): it starts three real nodes in this JVM on loopback.
 */
public final class FifoPipeline {
    /** What the counting stage sends on: a line's number and its word count; {@code line = -1} ends the stream. */
    public record LineCount(int line, int words) {
    }

    /** This example's types, in its own id range (every node of the cluster registers them). */
    public static final org.kerrighed.rpc.TypeRegistrar TYPES = b -> b.range("fifo-pipeline-example", 20_020, 20_029)
            .register(20_020, LineCount.class);

    public static final String FIFO = "pipeline.lines";
    public static final String QUEUE = "pipeline.counts";

    private FifoPipeline() {
    }

    /** Stage 1: writes {@code lines} into the FIFO, one per line, then closes its end (the reader gets EOF). */
    public static void produce(Node node, List<String> lines) throws IOException {
        PipeWriteEnd out = node.ipc().openFifoForWriting(FIFO);    // writes wait until a reader opens it
        try (Writer w = new OutputStreamWriter(out.outputStream(), StandardCharsets.UTF_8)) {
            for (String line : lines) {
                w.write(line + "\n");
            }
        }
    }

    /** Stage 2: reads lines until EOF and queues the word count of each, then the end marker. */
    public static void count(Node node, PipeReadEnd in) throws IOException, InterruptedException {
        ClusterBlockingQueue<LineCount> counts = node.ipc().queue(QUEUE, LineCount.class, 16);
        try (BufferedReader r = new BufferedReader(new InputStreamReader(in.inputStream(), StandardCharsets.UTF_8))) {
            String line;
            int n = 0;
            while ((line = r.readLine()) != null) {
                counts.put(new LineCount(n++, line.isBlank() ? 0 : line.trim().split("\\s+").length));
            }
        }
        counts.put(new LineCount(-1, 0));
    }

    /** Stage 3: takes counts until the end marker; returns words per line, in line order. */
    public static Map<Integer, Integer> collect(Node node) throws InterruptedException {
        ClusterBlockingQueue<LineCount> counts = node.ipc().queue(QUEUE, LineCount.class, 16);
        Map<Integer, Integer> perLine = new TreeMap<>();
        for (LineCount c = counts.take(); c.line() >= 0; c = counts.take()) {
            perLine.put(c.line(), c.words());
        }
        return perLine;
    }

    /** Runs the three stages on {@code nodes} 0, 1 and 2 at once; returns what the last stage collected. */
    public static Map<Integer, Integer> run(List<Node> nodes, List<String> text) throws Exception {
        nodes.get(0).ipc().fifo(FIFO, 0600);
        nodes.get(0).ipc().queue(QUEUE, LineCount.class, 16);      // homed on node 0, where it is consumed
        PipeReadEnd in = nodes.get(2).ipc().openFifoForReading(FIFO);
        try (ExecutorService threads = Executors.newVirtualThreadPerTaskExecutor()) {
            Future<Map<Integer, Integer>> result = threads.submit(() -> collect(nodes.get(0)));
            Future<?> counter = threads.submit(() -> {
                count(nodes.get(2), in);
                return null;
            });
            Future<?> producer = threads.submit(() -> {
                produce(nodes.get(1), text);
                return null;
            });
            producer.get();
            counter.get();
            return result.get();
        }
    }

    public static void main(String[] args) throws Exception {
        List<String> text = List.of(
                "Kerrighed offers the view of a unique SMP machine",
                "on top of a cluster of standard PCs",
                "",
                "pipes and FIFOs connect processes on different nodes",
                "and queues carry objects from producers to consumers");
        byte[] key = new byte[32];
        new SecureRandom().nextBytes(key);
        String secret = Base64.getEncoder().encodeToString(key);
        String cluster = "pipeline-" + Long.toHexString(new SecureRandom().nextLong() >>> 20);
        Path storage = Files.createTempDirectory("fifo-pipeline-");
        List<Node> nodes = new ArrayList<>();
        try {
            for (int id = 0; id < 3; id++) {
                HostAndPort seed = nodes.isEmpty() ? null : nodes.getFirst().rpc().address();
                nodes.add(Kerrighed.join(SharedWordCount.config(cluster, secret, storage, id, seed), TYPES));
            }
            Map<Integer, Integer> perLine = run(nodes, text);
            System.out.println("words per line, counted on node 2 from a FIFO written by node 1, collected on node 0:");
            perLine.forEach((line, words) -> System.out.printf("  %d: %d  (%s)%n", line, words, text.get(line)));
            System.out.println("total: " + perLine.values().stream().mapToInt(Integer::intValue).sum() + " words");
        } finally {
            for (Node n : nodes.reversed()) {
                n.close();
            }
        }
    }
}
