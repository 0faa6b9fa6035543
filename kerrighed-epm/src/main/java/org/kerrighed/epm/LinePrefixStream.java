package org.kerrighed.epm;

import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

/** Writes whole lines to {@code target}, each with {@code prefix}; a partial line waits for its end or a flush. */
final class LinePrefixStream extends OutputStream {
    private final String prefix;
    private final PrintStream target;
    private final ByteArrayOutputStream line = new ByteArrayOutputStream();

    LinePrefixStream(String prefix, PrintStream target) {
        this.prefix = prefix;
        this.target = target;
    }

    @Override
    public synchronized void write(int b) {
        if (b == '\n') {
            emit();
        } else {
            line.write(b);
        }
    }

    @Override
    public synchronized void flush() {
        if (line.size() > 0) {
            emit();
        }
    }

    private void emit() {
        target.println(prefix + line.toString(StandardCharsets.UTF_8));
        line.reset();
    }
}
