package org.kerrighed.node;

import org.kerrighed.rpc.HostAndPort;
import org.kerrighed.rpc.RpcConfig;
import org.kerrighed.rpc.TlsConfig;
import org.kerrighed.rpc.TransportKind;
import org.kerrighed.rpc.TypeRegistrar;
import org.kerrighed.rpc.membership.MembershipConfig;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.OptionalInt;

/**
 * Everything a node needs to start, validated once. Built with {@link #builder()} or read from a file
 * with {@link #load(Path)}; both take the same keys (documented in docs/configuration.md):
 *
 * <pre>
 * cluster.name = demo            # required
 * node.id = 3                    # 0-255; absent: the smallest free id is assigned on join
 * bind = 0.0.0.0:7400            # RPC server socket (port 0: ephemeral)
 * advertise = 10.0.0.5:7400      # the address peers dial, when it differs (NAT, containers)
 * membership.bind = 0.0.0.0:7401 # embedded Hazelcast (discovery); port 0: ephemeral
 * seeds = 10.0.0.1:7400, 10.0.0.2:7400  # RPC addresses of members to join; absent: start a new cluster
 * secret.file = /etc/kerrighed/secret   # or: secret = ... (at least 16 bytes)
 * limits.max-frame-bytes = 16777216
 * limits.call-timeout = 30s
 * limits.handshake-timeout = 5s
 * limits.conversation-window = 64
 * limits.silence-before-suspect = 2500ms
 * io-threads = 1
 * transport = auto               # auto | nio | epoll | io_uring
 * jmx = true
 * storage.dir = /var/lib/kerrighed   # node-local files, in node-<id> below it (KDDM directory sets); default: a temp directory
 * node.uid = 1000                # credentials of this node's callers (shared memory, IPC) until processes have their own; default 0 (root)
 * node.gid = 1000
 * tls.key-store = node.p12       # the four tls.* keys go together
 * scheduler.config = sched.conf  # scheduler commands applied once joined, while the cluster has no scheduler configuration
 * fs.quota = 10G                 # most bytes of file chunks this node stores (K, M, G, T suffixes); default: the disk's free space
 * fs.chunk-size = 4M             # bytes per chunk of the files this node creates (power of two, 64K-64M)
 * fs.replication = 2             # copies of each chunk of new files whose directory sets none (with at least 2 nodes)
 * fs.repair-delay = 2s           # how long a dead node's chunks wait for it before they are copied elsewhere
 * </pre>
 *
 * Errors name the key (and, for files, the file and line). Library code never reads system properties or
 * environment variables; the command line does and hands the result here.
 */
public final class NodeConfig {
    private static final List<String> KEYS = List.of("cluster.name", "node.id", "bind", "advertise",
            "membership.bind", "seeds", "secret", "secret.file", "limits.max-frame-bytes", "limits.call-timeout",
            "limits.handshake-timeout", "limits.conversation-window", "limits.silence-before-suspect",
            "io-threads", "transport", "jmx", "storage.dir", "node.uid", "node.gid", "tls.key-store", "tls.key-store-password", "tls.trust-store",
            "tls.trust-store-password", "scheduler.config", "fs.quota", "fs.chunk-size", "fs.replication",
            "fs.repair-delay");

    private final Builder b;
    private final byte[] secret;

    private NodeConfig(Builder b, byte[] secret) {
        this.b = b.copy();
        this.secret = secret;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Reads a configuration file (see the class comment for the format). */
    public static NodeConfig load(Path file) {
        String text;
        try {
            text = Files.readString(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new IllegalArgumentException(file + ": cannot read: " + e.getMessage(), e);
        }
        Builder b = parse(text, file.toString(), file.toAbsolutePath().getParent());
        try {
            return b.build();
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(locate(text, file.toString(), e.getMessage()) + e.getMessage(), e);
        }
    }

    /** "file:line: " for the line that set the key a build error starts with, or "file: " when none did. */
    private static String locate(String text, String source, String message) {
        int colon = message == null ? -1 : message.indexOf(':');
        String key = colon < 0 ? "" : message.substring(0, colon);
        String[] lines = text.split("\r?\n", -1);
        for (int i = lines.length - 1; i >= 0; i--) {           // the last setting of a key is the one used
            String line = lines[i].strip();
            int eq = line.indexOf('=');
            if (!line.startsWith("#") && eq > 0 && line.substring(0, eq).strip().equals(key)) {
                return source + ":" + (i + 1) + ": ";
            }
        }
        return source + ": ";
    }

    /**
     * Parses configuration text into a builder (so that command-line flags can override it).
     *
     * @param source name used in error messages (usually the file name)
     * @param base   directory relative paths (secret.file, tls.*) are resolved against; null: as given
     */
    public static Builder parse(String text, String source, Path base) {
        Builder b = new Builder();
        String[] lines = text.split("\r?\n", -1);
        for (int i = 0; i < lines.length; i++) {
            String line = lines[i].strip();
            if (line.isEmpty() || line.startsWith("#")) {
                continue;
            }
            int eq = line.indexOf('=');
            String where = source + ":" + (i + 1) + ": ";
            if (eq <= 0) {
                throw new IllegalArgumentException(where + "expected KEY = VALUE, got '" + line + "'");
            }
            String key = line.substring(0, eq).strip();
            String value = line.substring(eq + 1).strip();
            int hash = value.indexOf(" #");
            if (hash >= 0) {
                value = value.substring(0, hash).strip();
            }
            try {
                b.set(key, value, base);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(where + e.getMessage(), e);
            }
        }
        return b;
    }

    public String clusterName() {
        return b.clusterName;
    }

    /** The configured node id, or empty when the master assigns one on join. */
    public OptionalInt nodeId() {
        return b.nodeId < 0 ? OptionalInt.empty() : OptionalInt.of(b.nodeId);
    }

    public HostAndPort bind() {
        return b.bind;
    }

    public List<HostAndPort> seeds() {
        return List.copyOf(b.seeds);
    }

    public Duration silenceBeforeSuspect() {
        return b.silence;
    }

    /** The RPC settings for node id {@code id} (or -1 for a tool's client endpoint). */
    public RpcConfig toRpcConfig(int id, TypeRegistrar... extraTypes) {
        RpcConfig.Builder r = RpcConfig.builder()
                .clusterName(b.clusterName)
                .nodeId(id)
                .bind(b.bind)
                .advertised(b.advertise)
                .secret(secret)
                .maxFrameBytes(b.maxFrameBytes)
                .defaultCallTimeout(b.callTimeout())
                .handshakeTimeout(b.handshakeTimeout)
                .conversationWindow(b.conversationWindow)
                .ioThreads(b.ioThreads)
                .transport(b.transport)
                .jmx(b.jmx && id >= 0)
                .tls(b.tls());
        for (TypeRegistrar t : extraTypes) {
            r.types(t);
        }
        return r.build();
    }

    /**
     * The configured storage directory ({@code storage.dir}), under which each node keeps its files in
     * {@code node-<id>}; empty: each node uses a fresh temporary directory.
     */
    public java.util.Optional<Path> storageDir() {
        return java.util.Optional.ofNullable(b.storageDir);
    }

    /**
     * The file of scheduler commands ({@code scheduler.config}) this node applies once it joined, when the cluster's
     * scheduler configuration is still empty ({@link SchedChange} gives the syntax); empty: none.
     */
    public java.util.Optional<Path> schedulerConfig() {
        return java.util.Optional.ofNullable(b.schedulerConfig);
    }

    /**
     * The file-system settings ({@code fs.*}); the chunk directory is {@code fs} in the node's storage directory.
     */
    public org.kerrighed.fs.FsConfig fsConfig() {
        return b.fsConfig();
    }

    /** The credentials of this node's callers ({@code node.uid}, {@code node.gid}; default 0:0, root). */
    public org.kerrighed.kddm.access.Credentials credentials() {
        return new org.kerrighed.kddm.access.Credentials(b.uid, b.gid);
    }

    public MembershipConfig toMembershipConfig() {
        HostAndPort mb = b.membershipBind != null ? b.membershipBind : new HostAndPort(b.bind.host(), 0);
        return new MembershipConfig(mb, b.seeds, b.nodeId, b.silence, Duration.ofSeconds(15));
    }

    /** A copy of this configuration as a builder (for example to override the seeds). */
    public Builder toBuilder() {
        return b.copy();
    }

    @Override
    public String toString() {
        return "NodeConfig[cluster=" + b.clusterName + ", node.id=" + (b.nodeId < 0 ? "auto" : b.nodeId) + ", bind="
                + b.bind + ", seeds=" + b.seeds + ", secret=***]";
    }

    /** Collects settings; {@link #build()} validates them and names the first bad key. Not thread-safe. */
    public static final class Builder {
        private String clusterName;
        private int nodeId = -1;
        private HostAndPort bind = new HostAndPort("127.0.0.1", 0);
        private HostAndPort advertise;
        private HostAndPort membershipBind;
        private List<HostAndPort> seeds = new ArrayList<>();
        private String secret;
        private Path secretFile;
        private int maxFrameBytes = 16 * 1024 * 1024;
        private Duration callTimeout = Duration.ofSeconds(30);
        private Duration handshakeTimeout = Duration.ofSeconds(5);
        private int conversationWindow = 64;
        private Duration silence = Duration.ofMillis(2500);
        private int ioThreads = 1;
        private TransportKind transport = TransportKind.AUTO;
        private boolean jmx = true;
        private Path storageDir;
        private int uid;
        private int gid;
        private Path keyStore;
        private String keyStorePassword;
        private Path trustStore;
        private String trustStorePassword;
        private Path schedulerConfig;
        private long fsQuota = Long.MAX_VALUE;
        private int fsChunkSize = org.kerrighed.fs.FsConfig.DEFAULT_CHUNK;
        private int fsReplication = 2;
        private Duration fsRepairDelay = Duration.ofSeconds(2);

        private Builder() {
        }

        private Builder copy() {
            Builder c = new Builder();
            c.clusterName = clusterName;
            c.nodeId = nodeId;
            c.bind = bind;
            c.advertise = advertise;
            c.membershipBind = membershipBind;
            c.seeds = new ArrayList<>(seeds);
            c.secret = secret;
            c.secretFile = secretFile;
            c.maxFrameBytes = maxFrameBytes;
            c.callTimeout = callTimeout;
            c.handshakeTimeout = handshakeTimeout;
            c.conversationWindow = conversationWindow;
            c.silence = silence;
            c.ioThreads = ioThreads;
            c.transport = transport;
            c.jmx = jmx;
            c.storageDir = storageDir;
            c.uid = uid;
            c.gid = gid;
            c.keyStore = keyStore;
            c.keyStorePassword = keyStorePassword;
            c.trustStore = trustStore;
            c.trustStorePassword = trustStorePassword;
            c.schedulerConfig = schedulerConfig;
            c.fsQuota = fsQuota;
            c.fsChunkSize = fsChunkSize;
            c.fsReplication = fsReplication;
            c.fsRepairDelay = fsRepairDelay;
            return c;
        }

        /** Sets one key from its text form, as in a file. Throws naming the key when the value is bad. */
        public Builder set(String key, String value, Path base) {
            try {
                switch (key) {
                    case "cluster.name" -> clusterName = value;
                    case "node.id" -> nodeId = value.isEmpty() || value.equals("auto") ? -1 : parseInt(value);
                    case "bind" -> bind = HostAndPort.parse(value);
                    case "advertise" -> advertise = value.isEmpty() ? null : HostAndPort.parse(value);
                    case "membership.bind" -> membershipBind = HostAndPort.parse(value);
                    case "seeds" -> {
                        seeds = new ArrayList<>();
                        for (String s : value.split(",")) {
                            if (!s.isBlank()) {
                                seeds.add(HostAndPort.parse(s.strip()));
                            }
                        }
                    }
                    case "secret" -> secret = value;
                    case "secret.file" -> secretFile = resolve(base, value);
                    case "limits.max-frame-bytes" -> maxFrameBytes = parseInt(value);
                    case "limits.call-timeout" -> callTimeout = parseDuration(value);
                    case "limits.handshake-timeout" -> handshakeTimeout = parseDuration(value);
                    case "limits.conversation-window" -> conversationWindow = parseInt(value);
                    case "limits.silence-before-suspect" -> silence = parseDuration(value);
                    case "io-threads" -> ioThreads = parseInt(value);
                    case "transport" -> transport = parseTransport(value);
                    case "jmx" -> jmx = parseBoolean(value);
                    case "storage.dir" -> storageDir = value.isEmpty() ? null : resolve(base, value);
                    case "node.uid" -> uid = nonNegative(parseInt(value));
                    case "node.gid" -> gid = nonNegative(parseInt(value));
                    case "tls.key-store" -> keyStore = resolve(base, value);
                    case "tls.key-store-password" -> keyStorePassword = value;
                    case "tls.trust-store" -> trustStore = resolve(base, value);
                    case "tls.trust-store-password" -> trustStorePassword = value;
                    case "scheduler.config" -> schedulerConfig = value.isEmpty() ? null : resolve(base, value);
                    case "fs.quota" -> fsQuota = parseBytes(value);
                    case "fs.chunk-size" -> fsChunkSize = Math.toIntExact(parseBytes(value));
                    case "fs.replication" -> fsReplication = parseInt(value);
                    case "fs.repair-delay" -> fsRepairDelay = parseDuration(value);
                    default -> throw new IllegalArgumentException("unknown key; the keys are " + String.join(", ", KEYS));
                }
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(key + ": " + e.getMessage(), e);
            }
            return this;
        }

        private static int nonNegative(int v) {
            if (v < 0) {
                throw new IllegalArgumentException("must be >= 0, got " + v);
            }
            return v;
        }

        /** The uid and gid of this node's callers (until processes carry their own). */
        public Builder credentials(int uid, int gid) {
            this.uid = nonNegative(uid);
            this.gid = nonNegative(gid);
            return this;
        }

        private static Path resolve(Path base, String value) {
            Path p = Path.of(value);
            return base == null || p.isAbsolute() ? p : base.resolve(p);
        }

        private static int parseInt(String v) {
            try {
                return Integer.parseInt(v.replace("_", ""));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("expected an integer, got '" + v + "'");
            }
        }

        private static boolean parseBoolean(String v) {
            return switch (v.toLowerCase(Locale.ROOT)) {
                case "true", "yes", "on" -> true;
                case "false", "no", "off" -> false;
                default -> throw new IllegalArgumentException("expected true or false, got '" + v + "'");
            };
        }

        private static TransportKind parseTransport(String v) {
            try {
                return TransportKind.valueOf(v.toUpperCase(Locale.ROOT).replace('-', '_'));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("expected auto, nio, epoll or io_uring, got '" + v + "'");
            }
        }

        /** Parses {@code 500ms}, {@code 30s}, {@code 2m}, {@code 1h} or ISO-8601 ({@code PT30S}). */
        /** Bytes, with an optional K, M, G or T suffix (powers of 1024). */
        public static long parseBytes(String v) {
            String t = v.strip().toUpperCase(java.util.Locale.ROOT);
            if (t.endsWith("B")) {
                t = t.substring(0, t.length() - 1);
            }
            int shift = 0;
            if (!t.isEmpty()) {
                switch (t.charAt(t.length() - 1)) {
                    case 'K' -> shift = 10;
                    case 'M' -> shift = 20;
                    case 'G' -> shift = 30;
                    case 'T' -> shift = 40;
                    default -> shift = 0;
                }
            }
            if (shift > 0) {
                t = t.substring(0, t.length() - 1);
            }
            long n = Long.parseLong(t.strip());
            if (n < 0 || n > (Long.MAX_VALUE >> shift)) {
                throw new IllegalArgumentException("bad byte count " + v);
            }
            return n << shift;
        }

        org.kerrighed.fs.FsConfig fsConfig() {
            return new org.kerrighed.fs.FsConfig(java.util.Optional.empty(), fsQuota, fsChunkSize, fsReplication,
                    fsRepairDelay.toMillis());
        }

        /** The file-system settings ({@code fs.quota}, {@code fs.chunk-size}, {@code fs.replication}). */
        public Builder fs(long quotaBytes, int chunkSize, int replication) {
            fsQuota = quotaBytes;
            fsChunkSize = chunkSize;
            fsReplication = replication;
            return this;
        }

        public static Duration parseDuration(String v) {
            String s = v.strip().toLowerCase(Locale.ROOT);
            try {
                if (s.startsWith("pt") || s.startsWith("p")) {
                    return Duration.parse(v.strip().toUpperCase(Locale.ROOT));
                }
                if (s.endsWith("ms")) {
                    return Duration.ofMillis(Long.parseLong(s.substring(0, s.length() - 2).strip()));
                }
                long n = Long.parseLong(s.substring(0, s.length() - 1).strip());
                return switch (s.charAt(s.length() - 1)) {
                    case 's' -> Duration.ofSeconds(n);
                    case 'm' -> Duration.ofMinutes(n);
                    case 'h' -> Duration.ofHours(n);
                    default -> throw new IllegalArgumentException();
                };
            } catch (RuntimeException e) {
                throw new IllegalArgumentException("expected a duration such as 500ms, 30s, 2m or PT30S, got '" + v + "'");
            }
        }

        public Builder clusterName(String v) {
            clusterName = v;
            return this;
        }

        /** The node id (0-255), or -1 to be assigned one on join. */
        public Builder nodeId(int v) {
            nodeId = v;
            return this;
        }

        public Builder bind(HostAndPort v) {
            bind = v;
            return this;
        }

        public Builder advertise(HostAndPort v) {
            advertise = v;
            return this;
        }

        public Builder membershipBind(HostAndPort v) {
            membershipBind = v;
            return this;
        }

        public Builder seeds(List<HostAndPort> v) {
            seeds = new ArrayList<>(v);
            return this;
        }

        public Builder secret(String v) {
            secret = v;
            return this;
        }

        public Builder secretFile(Path v) {
            secretFile = v;
            return this;
        }

        public Builder maxFrameBytes(int v) {
            maxFrameBytes = v;
            return this;
        }

        public Builder callTimeout(Duration v) {
            callTimeout = v;
            return this;
        }

        public Builder handshakeTimeout(Duration v) {
            handshakeTimeout = v;
            return this;
        }

        public Builder conversationWindow(int v) {
            conversationWindow = v;
            return this;
        }

        public Builder silenceBeforeSuspect(Duration v) {
            silence = v;
            return this;
        }

        public Builder ioThreads(int v) {
            ioThreads = v;
            return this;
        }

        public Builder transport(TransportKind v) {
            transport = v;
            return this;
        }

        /** Where nodes keep node-local files (each in {@code node-<id>} below it); null: a fresh temporary directory. */
        public Builder storageDir(Path v) {
            storageDir = v;
            return this;
        }

        /**
         * A file of scheduler commands to apply once joined, while the cluster has no scheduler configuration
         * ({@code scheduler.config}); null: none.
         */
        public Builder schedulerConfig(Path v) {
            schedulerConfig = v;
            return this;
        }

        public Builder jmx(boolean v) {
            jmx = v;
            return this;
        }

        public Builder tls(Path keyStore, String keyStorePassword, Path trustStore, String trustStorePassword) {
            this.keyStore = keyStore;
            this.keyStorePassword = keyStorePassword;
            this.trustStore = trustStore;
            this.trustStorePassword = trustStorePassword;
            return this;
        }

        TlsConfig tls() {
            if (keyStore == null) {
                return null;
            }
            return new TlsConfig(keyStore, keyStorePassword.toCharArray(), trustStore, trustStorePassword.toCharArray());
        }

        Duration callTimeout() {
            return callTimeout;
        }

        /**
         * Validates every setting and builds.
         *
         * @throws IllegalArgumentException naming the first bad key
         */
        public NodeConfig build() {
            if (clusterName == null || clusterName.isBlank()) {
                throw new IllegalArgumentException("cluster.name: required");
            }
            try {
                fsConfig();
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("fs: " + e.getMessage(), e);
            }
            if (nodeId < -1 || nodeId > 255) {
                throw new IllegalArgumentException("node.id: must be in 0-255, got " + nodeId);
            }
            if (secret != null && secretFile != null) {
                throw new IllegalArgumentException("secret: give either secret or secret.file, not both");
            }
            byte[] s;
            if (secretFile != null) {
                try {
                    s = Files.readString(secretFile, StandardCharsets.UTF_8).strip().getBytes(StandardCharsets.UTF_8);
                } catch (IOException e) {
                    throw new IllegalArgumentException("secret.file: cannot read " + secretFile + ": " + e.getMessage(), e);
                }
            } else if (secret != null) {
                s = secret.getBytes(StandardCharsets.UTF_8);
            } else {
                throw new IllegalArgumentException("secret: required (secret = ... or secret.file = PATH); never"
                        + " hard-coded, generate one with: head -c 32 /dev/urandom | base64");
            }
            if (s.length < 16) {
                throw new IllegalArgumentException((secretFile != null ? "secret.file" : "secret")
                        + ": the cluster secret must be at least 16 bytes, got " + s.length);
            }
            int tlsKeys = (keyStore == null ? 0 : 1) + (keyStorePassword == null ? 0 : 1)
                    + (trustStore == null ? 0 : 1) + (trustStorePassword == null ? 0 : 1);
            if (tlsKeys != 0 && tlsKeys != 4) {
                throw new IllegalArgumentException("tls: give all four of tls.key-store, tls.key-store-password,"
                        + " tls.trust-store and tls.trust-store-password, or none");
            }
            if (silence == null || silence.toMillis() < 1000) {
                throw new IllegalArgumentException("limits.silence-before-suspect: must be at least 1s, got " + silence);
            }
            NodeConfig c = new NodeConfig(this, s);
            c.toRpcConfig(Math.max(0, nodeId));        // runs the RPC layer's own checks, which name their keys
            return c;
        }
    }

    /** For tests and tools: every key this format accepts. */
    public static List<String> keys() {
        return KEYS;
    }
}
