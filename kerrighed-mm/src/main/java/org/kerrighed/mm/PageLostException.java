package org.kerrighed.mm;

import org.kerrighed.kddm.ObjectLostException;

/**
 * A page of a segment was lost: every copy of it was on nodes that failed (the segment's replication factor was
 * lower than the number of nodes lost at once). The segment stays usable except for the lost pages, which throw
 * this on every access until the segment is removed. It is KDDM's {@link ObjectLostException}, with a message
 * naming the segment and the byte range.
 */
public class PageLostException extends ObjectLostException {
    private final String message;

    PageLostException(String segment, long page, int pageSize, int replication, ObjectLostException cause) {
        super(0, page);
        long from = page * pageSize;
        this.message = segment + ": page " + page + " (bytes " + from + "-" + (from + pageSize - 1) + ") was lost:"
                + " every copy was on failed nodes (replication factor " + replication + "; create segments with"
                + " replication 2 or more to survive a node's death); remove the segment and create it again";
        initCause(cause);
    }

    @Override
    public String getMessage() {
        return message;
    }
}
