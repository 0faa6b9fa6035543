package org.kerrighed.rpc;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.LinkedList;
import java.util.List;
import java.util.Optional;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.UUID;

/**
 * The JDK value types every node registers, ids {@value TypeRegistry#BUILTIN_FIRST}-999. These ids are part
 * of the wire format: never renumber or reuse one; add new types at free ids. Kryo itself holds ids 0-9
 * (int, String, float, boolean, byte, char, short, long, double, void, and their boxes).
 */
final class BuiltinTypes {
    private BuiltinTypes() {
    }

    static void register(TypeRegistry.Builder b) {
        // 10-29: arrays
        b.register(10, byte[].class);
        b.register(11, int[].class);
        b.register(12, long[].class);
        b.register(13, double[].class);
        b.register(14, boolean[].class);
        b.register(15, char[].class);
        b.register(16, short[].class);
        b.register(17, float[].class);
        b.register(18, String[].class);
        b.register(19, Object[].class);
        b.register(20, long[][].class);
        // 30-59: mutable collections (element counts checked against the frame on read)
        b.register(30, ArrayList.class);
        b.register(31, LinkedList.class);
        b.register(32, HashMap.class);
        b.register(33, LinkedHashMap.class);
        b.register(34, TreeMap.class);
        b.register(35, HashSet.class);
        b.register(36, LinkedHashSet.class);
        b.register(37, TreeSet.class);
        b.register(38, ArrayDeque.class);
        // 60-79: immutable collections; they come back immutable with equal contents
        var lists = new org.kerrighed.rpc.internal.codec.ImmutableCollectionTypes();
        b.register(60, lists.list12(), lists.listSerializer());
        b.register(61, lists.listN(), lists.listSerializer());
        b.register(62, lists.set12(), lists.setSerializer());
        b.register(63, lists.setN(), lists.setSerializer());
        b.register(64, lists.map1(), lists.mapSerializer());
        b.register(65, lists.mapN(), lists.mapSerializer());
        b.register(66, Collections.emptyList().getClass(), lists.listSerializer());
        b.register(67, Collections.emptySet().getClass(), lists.setSerializer());
        b.register(68, Collections.emptyMap().getClass(), lists.mapSerializer());
        b.register(69, Collections.singletonList(0).getClass(), lists.listSerializer());
        b.register(70, Collections.singleton(0).getClass(), lists.setSerializer());
        b.register(71, Collections.singletonMap(0, 0).getClass(), lists.mapSerializer());
        b.register(72, Collections.unmodifiableList(new ArrayList<>()).getClass(), lists.listSerializer());
        b.register(73, Collections.unmodifiableList(new LinkedList<>()).getClass(), lists.listSerializer());
        b.register(74, Collections.unmodifiableSet(new HashSet<>()).getClass(), lists.setSerializer());
        b.register(75, Collections.unmodifiableMap(new HashMap<>()).getClass(), lists.mapSerializer());
        b.register(76, List.of(1, 2, 3).subList(0, 1).getClass(), lists.listSerializer());
        // 80-99: values
        b.register(80, UUID.class);
        b.register(81, BigInteger.class);
        b.register(82, BigDecimal.class);
        b.register(83, Duration.class);
        b.register(84, Instant.class);
        b.register(85, LocalDate.class);
        b.register(86, LocalDateTime.class);
        b.register(87, Optional.class);
        b.register(88, BitSet.class);
        b.register(89, HostAndPort.class);
        b.register(90, Integer[].class);
        b.register(91, Long[].class);
    }
}
