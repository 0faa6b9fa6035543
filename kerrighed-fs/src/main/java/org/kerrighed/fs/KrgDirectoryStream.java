package org.kerrighed.fs;

import java.io.IOException;
import java.nio.file.DirectoryIteratorException;
import java.nio.file.DirectoryStream;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;

/**
 * The entries of a directory as listed when the stream was opened (later changes are not seen), filtered when
 * iterated. One iterator per stream; once the stream is closed the iterator has no more entries.
 */
final class KrgDirectoryStream implements DirectoryStream<Path> {
    private final KrgFileSystem fs;
    private final KrgPath dir;
    private final List<String> names;
    private final Filter<? super Path> filter;
    private volatile boolean closed;
    private boolean iterated;

    KrgDirectoryStream(KrgFileSystem fs, KrgPath dir, List<String> names, Filter<? super Path> filter) {
        this.fs = fs;
        this.dir = dir;
        this.names = names;
        this.filter = filter;
    }

    /** @throws IllegalStateException when closed or when an iterator was already returned */
    @Override
    public synchronized Iterator<Path> iterator() {
        if (closed) {
            throw new IllegalStateException("directory stream of " + dir + " is closed");
        }
        if (iterated) {
            throw new IllegalStateException("directory stream of " + dir + " already gave its iterator");
        }
        iterated = true;
        return new Iterator<>() {
            private int next;
            private Path ahead;

            @Override
            public boolean hasNext() {
                while (ahead == null && !closed && next < names.size()) {
                    Path p = dir.resolve(new KrgPath(fs, names.get(next++)));
                    try {
                        if (filter.accept(p)) {
                            ahead = p;
                        }
                    } catch (IOException e) {
                        throw new DirectoryIteratorException(e);
                    }
                }
                return ahead != null;
            }

            @Override
            public Path next() {
                if (!hasNext()) {
                    throw new NoSuchElementException();
                }
                Path p = ahead;
                ahead = null;
                return p;
            }
        };
    }

    @Override
    public void close() {
        closed = true;
        fs.closed(this);
    }
}
