package org.kerrighed.fs;

import java.nio.file.Path;
import java.util.Optional;

/**
 * A node's file-system settings.
 *
 * @param storage            directory holding this node's chunk files (empty: {@code fs} under the KDDM storage
 *                           directory)
 * @param quotaBytes         the most chunk bytes this node stores ({@code Long.MAX_VALUE}: the disk's free space is
 *                           the limit)
 * @param chunkSize          bytes per chunk of the files this node creates (a power of two, 64 KiB to 64 MiB)
 * @param defaultReplication copies of each chunk of a file whose directory sets none (capped by the live nodes)
 * @param repairDelayMillis  how long a chunk that lost a replica waits before it is copied elsewhere (the node may
 *                           come back first)
 */
public record FsConfig(Optional<Path> storage, long quotaBytes, int chunkSize, int defaultReplication,
                       long repairDelayMillis) {
    public static final int DEFAULT_CHUNK = 4 << 20;

    public FsConfig {
        if (Integer.bitCount(chunkSize) != 1 || chunkSize < (64 << 10) || chunkSize > (64 << 20)) {
            throw new IllegalArgumentException("chunk size " + chunkSize + " is not a power of two in 64 KiB..64 MiB");
        }
        if (quotaBytes <= 0) {
            throw new IllegalArgumentException("quota " + quotaBytes + " must be positive");
        }
        if (defaultReplication < 1 || defaultReplication > 8) {
            throw new IllegalArgumentException("replication " + defaultReplication + " not in 1..8");
        }
        if (repairDelayMillis < 0) {
            throw new IllegalArgumentException("repair delay " + repairDelayMillis + " is negative");
        }
    }

    public static FsConfig defaults() {
        return new FsConfig(Optional.empty(), Long.MAX_VALUE, DEFAULT_CHUNK, 2, 2_000);
    }

    public FsConfig withStorage(Path dir) {
        return new FsConfig(Optional.of(dir), quotaBytes, chunkSize, defaultReplication, repairDelayMillis);
    }

    public FsConfig withQuota(long bytes) {
        return new FsConfig(storage, bytes, chunkSize, defaultReplication, repairDelayMillis);
    }

    public FsConfig withChunkSize(int bytes) {
        return new FsConfig(storage, quotaBytes, bytes, defaultReplication, repairDelayMillis);
    }

    public FsConfig withReplication(int copies) {
        return new FsConfig(storage, quotaBytes, chunkSize, copies, repairDelayMillis);
    }

    public FsConfig withRepairDelayMillis(long millis) {
        return new FsConfig(storage, quotaBytes, chunkSize, defaultReplication, millis);
    }
}
