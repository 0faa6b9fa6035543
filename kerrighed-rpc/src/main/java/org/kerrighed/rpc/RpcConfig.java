package org.kerrighed.rpc;

import org.kerrighed.rpc.testing.FaultInjector;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * Settings of one RPC endpoint. Immutable; built and validated once by {@link Builder#build()}, whose
 * errors name the offending setting. Library code never reads system properties or environment variables:
 * everything comes from here, which is what lets many nodes share one JVM in tests.
 */
public final class RpcConfig {
    /** Node ids are 0..MAX_NODES-1; ids from MAX_NODES up name connected tools (clients). */
    public static final int MAX_NODES = 256;
    /** Wire protocol version, compared in the handshake. */
    public static final int PROTOCOL_VERSION = 1;

    private static final Pattern CLUSTER_NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,63}");

    private final String clusterName;
    private final int nodeId;
    private final HostAndPort bind;
    private final HostAndPort advertised;             // null: derived from the bound socket
    private final byte[] secret;
    private final int maxFrameBytes;
    private final Duration handshakeTimeout;
    private final Duration defaultCallTimeout;
    private final int conversationWindow;
    private final int ioThreads;
    private final TransportKind transport;
    private final TlsConfig tls;
    private final List<TypeRegistrar> registrars;
    private final TypeRegistry types;
    private final FaultInjector faults;
    private final boolean jmx;

    private RpcConfig(Builder b) {
        this.clusterName = b.clusterName;
        this.nodeId = b.nodeId;
        this.bind = b.bind;
        this.advertised = b.advertised;
        this.secret = b.secret.clone();
        this.maxFrameBytes = b.maxFrameBytes;
        this.handshakeTimeout = b.handshakeTimeout;
        this.defaultCallTimeout = b.defaultCallTimeout;
        this.conversationWindow = b.conversationWindow;
        this.ioThreads = b.ioThreads;
        this.transport = b.transport;
        this.tls = b.tls;
        this.registrars = List.copyOf(b.registrars);
        TypeRegistry.Builder tb = TypeRegistry.builder();
        for (TypeRegistrar r : b.registrars) {
            tb.registerAll(r);
        }
        this.types = tb.build();
        this.faults = b.faults;
        this.jmx = b.jmx;
    }

    public static Builder builder() {
        return new Builder();
    }

    public String clusterName() {
        return clusterName;
    }

    /** This node's id (0-255), or -1 for a tool's client endpoint. */
    public int nodeId() {
        return nodeId;
    }

    /** Where the server socket binds; port 0 picks an ephemeral port. */
    public HostAndPort bind() {
        return bind;
    }

    /** The address peers should dial, when it differs from the bind address (NAT, containers). */
    public Optional<HostAndPort> advertised() {
        return Optional.ofNullable(advertised);
    }

    /** The cluster secret (a copy). */
    public byte[] secret() {
        return secret.clone();
    }

    public int maxFrameBytes() {
        return maxFrameBytes;
    }

    public Duration handshakeTimeout() {
        return handshakeTimeout;
    }

    public Duration defaultCallTimeout() {
        return defaultCallTimeout;
    }

    public int conversationWindow() {
        return conversationWindow;
    }

    public int ioThreads() {
        return ioThreads;
    }

    public TransportKind transport() {
        return transport;
    }

    public Optional<TlsConfig> tls() {
        return Optional.ofNullable(tls);
    }

    /** The type registry: built-in types plus every registrar given to the builder. */
    public TypeRegistry types() {
        return types;
    }

    /** Transport faults to inject (tests only), or empty. */
    public Optional<FaultInjector> faults() {
        return Optional.ofNullable(faults);
    }

    /** Whether the endpoint registers its counters as a JMX MXBean. */
    public boolean jmx() {
        return jmx;
    }

    /** A copy of this configuration with another node id and bind address (used by harnesses). */
    public Builder toBuilder() {
        Builder b = new Builder();
        b.clusterName = clusterName;
        b.nodeId = nodeId;
        b.bind = bind;
        b.advertised = advertised;
        b.secret = secret.clone();
        b.maxFrameBytes = maxFrameBytes;
        b.handshakeTimeout = handshakeTimeout;
        b.defaultCallTimeout = defaultCallTimeout;
        b.conversationWindow = conversationWindow;
        b.ioThreads = ioThreads;
        b.transport = transport;
        b.tls = tls;
        b.registrars.addAll(registrars);
        b.faults = faults;
        b.jmx = jmx;
        return b;
    }

    /** Collects settings; {@link #build()} validates them all and names the first bad one. Not thread-safe. */
    public static final class Builder {
        private String clusterName;
        private int nodeId = Integer.MIN_VALUE;
        private HostAndPort bind = new HostAndPort("127.0.0.1", 0);
        private HostAndPort advertised;
        private byte[] secret;
        private int maxFrameBytes = 16 * 1024 * 1024;
        private Duration handshakeTimeout = Duration.ofSeconds(5);
        private Duration defaultCallTimeout = Duration.ofSeconds(30);
        private int conversationWindow = 64;
        private int ioThreads = 1;
        private TransportKind transport = TransportKind.AUTO;
        private TlsConfig tls;
        private final List<TypeRegistrar> registrars = new ArrayList<>();
        private FaultInjector faults;
        private boolean jmx = true;

        private Builder() {
        }

        public Builder clusterName(String v) {
            this.clusterName = v;
            return this;
        }

        public Builder nodeId(int v) {
            this.nodeId = v;
            return this;
        }

        public Builder bind(HostAndPort v) {
            this.bind = v;
            return this;
        }

        public Builder advertised(HostAndPort v) {
            this.advertised = v;
            return this;
        }

        public Builder secret(byte[] v) {
            this.secret = v == null ? null : v.clone();
            return this;
        }

        public Builder maxFrameBytes(int v) {
            this.maxFrameBytes = v;
            return this;
        }

        public Builder handshakeTimeout(Duration v) {
            this.handshakeTimeout = v;
            return this;
        }

        public Builder defaultCallTimeout(Duration v) {
            this.defaultCallTimeout = v;
            return this;
        }

        public Builder conversationWindow(int v) {
            this.conversationWindow = v;
            return this;
        }

        /**
         * I/O threads of the endpoint (default 1). One thread keeps both connections of every peer on the
         * same event loop, so a reply handled there sends its follow-up without a thread hand-off; raise
         * it for nodes that talk to many busy peers.
         */
        public Builder ioThreads(int v) {
            this.ioThreads = v;
            return this;
        }

        public Builder transport(TransportKind v) {
            this.transport = v;
            return this;
        }

        public Builder tls(TlsConfig v) {
            this.tls = v;
            return this;
        }

        /** Adds a module's or application's types; every node of the cluster must add the same. */
        public Builder types(TypeRegistrar v) {
            this.registrars.add(Checks.notNull(v, "types"));
            return this;
        }

        /** Injects transport faults (tests). */
        public Builder faults(FaultInjector v) {
            this.faults = v;
            return this;
        }

        public Builder jmx(boolean v) {
            this.jmx = v;
            return this;
        }

        /**
         * Validates and builds.
         *
         * @throws IllegalArgumentException naming the first invalid setting
         */
        public RpcConfig build() {
            if (clusterName == null || !CLUSTER_NAME.matcher(clusterName).matches()) {
                throw new IllegalArgumentException("cluster.name: must be 1-64 of [A-Za-z0-9._-] starting with a"
                        + " letter or digit, got " + (clusterName == null ? "nothing" : "'" + clusterName + "'"));
            }
            if (nodeId != -1 && (nodeId < 0 || nodeId >= MAX_NODES)) {
                throw new IllegalArgumentException("node.id: must be in 0-" + (MAX_NODES - 1)
                        + (nodeId == Integer.MIN_VALUE ? ", not set" : ", got " + nodeId));
            }
            if (bind == null) {
                throw new IllegalArgumentException("bind: not set");
            }
            if (advertised != null && advertised.port() == 0) {
                throw new IllegalArgumentException("advertise: port 0 cannot be advertised, got " + advertised);
            }
            if (secret == null || secret.length < 16) {
                throw new IllegalArgumentException("secret: the cluster secret must be at least 16 bytes"
                        + (secret == null ? ", not set" : ", got " + secret.length));
            }
            if (maxFrameBytes < 4096 || maxFrameBytes > 1 << 30) {
                throw new IllegalArgumentException("limits.max-frame-bytes: must be in 4096-" + (1 << 30)
                        + ", got " + maxFrameBytes);
            }
            requirePositive(handshakeTimeout, "limits.handshake-timeout");
            requirePositive(defaultCallTimeout, "limits.call-timeout");
            if (conversationWindow < 1 || conversationWindow > 65_536) {
                throw new IllegalArgumentException("limits.conversation-window: must be in 1-65536, got "
                        + conversationWindow);
            }
            if (ioThreads < 1 || ioThreads > 64) {
                throw new IllegalArgumentException("io-threads: must be in 1-64, got " + ioThreads);
            }
            if (transport == null) {
                throw new IllegalArgumentException("transport: not set");
            }
            return new RpcConfig(this);
        }

        private static void requirePositive(Duration d, String key) {
            if (d == null || d.isNegative() || d.isZero()) {
                throw new IllegalArgumentException(key + ": must be a positive duration, got " + d);
            }
        }
    }
}
