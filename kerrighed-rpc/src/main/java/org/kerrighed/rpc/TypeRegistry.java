package org.kerrighed.rpc;

import com.esotericsoftware.kryo.Serializer;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * The stable mapping between wire type ids and classes: every value that crosses the wire has its class
 * registered here under an explicit id (the idea of Kerrighed's krgsyms). Immutable once built, and safe
 * to share between threads and nodes.
 *
 * <p>Ids are partitioned into ranges, one per owner, so modules and applications never collide:
 * <ul>
 *   <li>{@value #BUILTIN_FIRST}-{@value #BUILTIN_LAST}: JDK value types every node knows (registered by
 *       {@link #builder()});</li>
 *   <li>{@value #SYSTEM_FIRST}-{@value #SYSTEM_LAST}: Kerrighed's own modules, 1000 ids each (rpc 1000,
 *       node 2000, kddm 3000, mm 4000, ipc 5000, fs 6000, epm 7000, scheduler 8000);</li>
 *   <li>{@value #APPLICATION_FIRST} and up: applications, each in a range it claims with
 *       {@link Builder#range(String, int, int)}.</li>
 * </ul>
 *
 * <p>Two nodes talk only if their registries have the same {@link #fingerprint()}: the handshake compares
 * them and refuses a mismatch with an error naming both. The fingerprint covers every (id, class name,
 * serializer class name) triple, and the shape of each class outside the JDK and the libraries (a record's
 * components, an enum's constants, a class's instance fields), so that builds whose classes changed shape refuse
 * each other too. A tool (an {@link RpcClient}) needs only the types it uses: it is admitted
 * when each block of 1000 ids it registers anything in is identical on the node
 * ({@link #blockFingerprints()}), so {@code krg} tools talk to nodes that register application types.
 */
public final class TypeRegistry {
    public static final int BUILTIN_FIRST = 10;
    public static final int BUILTIN_LAST = 999;
    public static final int SYSTEM_FIRST = 1000;
    public static final int SYSTEM_LAST = 9999;
    public static final int APPLICATION_FIRST = 10_000;

    /** One registration: the id, the class and an optional custom serializer (null: Kryo's default). */
    public record Entry(int id, Class<?> type, Serializer<?> serializer) {
    }

    private final List<Entry> entries;                 // sorted by id
    private final Map<Class<?>, Integer> idsByType;
    private final String fingerprint;
    private final String blocks;

    private TypeRegistry(TreeMap<Integer, Entry> byId) {
        this.entries = List.copyOf(byId.values());
        Map<Class<?>, Integer> ids = new LinkedHashMap<>();
        for (Entry e : entries) {
            ids.put(e.type(), e.id());
        }
        this.idsByType = Collections.unmodifiableMap(ids);
        this.fingerprint = computeFingerprint(entries);
        StringBuilder b = new StringBuilder(BLOCKS_PREFIX);
        entries.stream().collect(java.util.stream.Collectors.groupingBy(e -> e.id() / BLOCK, TreeMap::new,
                        java.util.stream.Collectors.toList()))
                .forEach((block, in) -> b.append(b.length() == BLOCKS_PREFIX.length() ? "" : ",").append(block)
                        .append('=').append(computeFingerprint(in), 0, 16));
        this.blocks = b.toString();
    }

    private static final int BLOCK = 1000;
    private static final String BLOCKS_PREFIX = "blocks:";

    /**
     * The fingerprint of each block of 1000 ids that holds a registration, as {@code blocks:B=HEX,...}
     * (16 hex digits each): what a tool sends in its handshake.
     */
    public String blockFingerprints() {
        return blocks;
    }

    /**
     * Whether a tool whose registry has the {@code offered} block fingerprints can talk to this registry's
     * owner: every block it uses must be identical here.
     */
    public boolean acceptsTool(String offered) {
        if (offered.equals(fingerprint)) {
            return true;
        }
        if (!offered.startsWith(BLOCKS_PREFIX) || offered.length() == BLOCKS_PREFIX.length()) {
            return false;
        }
        java.util.Set<String> mine = java.util.Set.of(blocks.substring(BLOCKS_PREFIX.length()).split(","));
        for (String block : offered.substring(BLOCKS_PREFIX.length()).split(",")) {
            if (!mine.contains(block)) {
                return false;
            }
        }
        return true;
    }

    /** A builder that already holds the built-in JDK types; add module and application types to it. */
    public static Builder builder() {
        Builder b = new Builder();
        BuiltinTypes.register(b);
        org.kerrighed.rpc.membership.MembershipTypes.register(b);
        return b;
    }

    /** Every registration, sorted by id. */
    public List<Entry> entries() {
        return entries;
    }

    /** The id of {@code type}, or -1 when it is not registered. */
    public int idOf(Class<?> type) {
        Integer id = idsByType.get(type);
        return id == null ? -1 : id;
    }

    /**
     * Hex SHA-256 over the sorted (id, class, serializer) triples and the shapes of the classes of this build
     * (see the class comment); equal registries of one build have equal fingerprints.
     */
    public String fingerprint() {
        return fingerprint;
    }

    /** The first 12 hex digits of the fingerprint, for messages and logs. */
    public String shortFingerprint() {
        return fingerprint.substring(0, 12);
    }

    /**
     * What a class's encoding depends on besides its name, for the classes outside the JDK and the libraries: a
     * record's components, an enum's constants (encoded by ordinal), another class's instance fields (Kryo's field
     * serializer writes them in name order). Two builds whose classes differ in shape under the same names then have
     * different fingerprints, and refuse each other at the handshake rather than misread each other's messages.
     */
    private static String shape(Class<?> type) {
        if (type.isPrimitive() || type.isArray() || outside(type)) {
            return "";
        }
        try {
            if (type.isRecord()) {                         // by name, as Kryo's record serializer writes them
                return java.util.Arrays.stream(type.getRecordComponents())
                        .map(c -> c.getName() + ":" + c.getGenericType().getTypeName()).sorted()
                        .collect(java.util.stream.Collectors.joining(",", "(", ")"));
            }
            if (type.isEnum()) {
                return java.util.Arrays.stream(type.getEnumConstants()).map(c -> ((Enum<?>) c).name())
                        .collect(java.util.stream.Collectors.joining(",", "{", "}"));
            }
            List<String> fields = new ArrayList<>();
            // a superclass of the JDK's or a library's is left out: its private fields change between their releases
            for (Class<?> c = type; c != null && !outside(c); c = c.getSuperclass()) {
                for (java.lang.reflect.Field f : c.getDeclaredFields()) {
                    int m = f.getModifiers();
                    if (!java.lang.reflect.Modifier.isStatic(m) && !java.lang.reflect.Modifier.isTransient(m)
                            && !f.isSynthetic()) {
                        fields.add(f.getName() + ":" + f.getGenericType().getTypeName());
                    }
                }
            }
            java.util.Collections.sort(fields);
            return "[" + String.join(",", fields) + "]";
        } catch (LinkageError | RuntimeException e) {
            return "[?]";                                  // a field's type cannot be loaded here: the name alone
        }
    }

    /** A class of the JDK or of a library the runtime is built on: its shape is theirs, not this build's. */
    private static boolean outside(Class<?> c) {
        String name = c.getName();
        return name.startsWith("java.") || name.startsWith("javax.") || name.startsWith("jdk.")
                || name.startsWith("sun.") || name.startsWith("com.esotericsoftware.") || name.startsWith("io.netty.")
                || name.startsWith("com.hazelcast.") || name.startsWith("org.objenesis.");
    }

    private static String computeFingerprint(List<Entry> entries) {
        try {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            for (Entry e : entries) {
                String line = e.id() + "=" + e.type().getName() + "/"
                        + (e.serializer() == null ? "-" : e.serializer().getClass().getName()) + shape(e.type()) + "\n";
                sha.update(line.getBytes(StandardCharsets.UTF_8));
            }
            return HexFormat.of().formatHex(sha.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JDK", e);
        }
    }

    /**
     * Collects registrations. Not thread-safe; build once at start-up. Every method fails with an
     * {@link IllegalArgumentException} naming the clash when an id or class is registered twice, or an id
     * falls outside the range it is registered in.
     */
    public static final class Builder {
        private final TreeMap<Integer, Entry> byId = new TreeMap<>();
        private final Map<Class<?>, Integer> byType = new LinkedHashMap<>();
        private final List<Range> ranges = new ArrayList<>();

        private Builder() {
        }

        /** Registers {@code type} under {@code id} with Kryo's default serializer for it. */
        public Builder register(int id, Class<?> type) {
            return register(id, type, null);
        }

        /** Registers {@code type} under {@code id} with a custom serializer (null: Kryo's default). */
        public <T> Builder register(int id, Class<T> type, Serializer<? super T> serializer) {
            Checks.notNull(type, "type");
            if (id < BUILTIN_FIRST) {
                throw new IllegalArgumentException("type id " + id + " for " + type.getName()
                        + " is reserved (ids below " + BUILTIN_FIRST + " belong to Kryo)");
            }
            Entry existing = byId.get(id);
            if (existing != null) {
                throw new IllegalArgumentException("type id " + id + " is already registered to "
                        + existing.type().getName() + ", cannot register " + type.getName());
            }
            Integer other = byType.get(type);
            if (other != null) {
                throw new IllegalArgumentException(type.getName() + " is already registered under id " + other);
            }
            byId.put(id, new Entry(id, type, serializer));
            byType.put(type, id);
            return this;
        }

        /** Runs a registrar against this builder. */
        public Builder registerAll(TypeRegistrar registrar) {
            Checks.notNull(registrar, "registrar").registerTypes(this);
            return this;
        }

        /**
         * Claims ids {@code first..last} (inclusive) for {@code owner} and returns a view that registers
         * only inside them. Ranges must not overlap.
         */
        public Range range(String owner, int first, int last) {
            Checks.notNull(owner, "owner");
            if (first < BUILTIN_FIRST || last < first) {
                throw new IllegalArgumentException("bad id range " + first + ".." + last + " for " + owner);
            }
            for (Range r : ranges) {
                if (first <= r.last && r.first <= last) {
                    throw new IllegalArgumentException("id range " + first + ".." + last + " of " + owner
                            + " overlaps " + r.first + ".." + r.last + " of " + r.owner);
                }
            }
            Range r = new Range(this, owner, first, last);
            ranges.add(r);
            return r;
        }

        public TypeRegistry build() {
            return new TypeRegistry(new TreeMap<>(byId));
        }
    }

    /** A claimed id range; registrations through it must fall inside it. */
    public static final class Range {
        private final Builder builder;
        private final String owner;
        private final int first;
        private final int last;

        private Range(Builder builder, String owner, int first, int last) {
            this.builder = builder;
            this.owner = owner;
            this.first = first;
            this.last = last;
        }

        public Range register(int id, Class<?> type) {
            return register(id, type, null);
        }

        public <T> Range register(int id, Class<T> type, Serializer<? super T> serializer) {
            if (id < first || id > last) {
                throw new IllegalArgumentException("type id " + id + " for " + type.getName() + " is outside "
                        + owner + "'s range " + first + ".." + last);
            }
            builder.register(id, type, serializer);
            return this;
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Range r && r.owner.equals(owner) && r.first == first && r.last == last;
        }

        @Override
        public int hashCode() {
            return Objects.hash(owner, first, last);
        }
    }
}
