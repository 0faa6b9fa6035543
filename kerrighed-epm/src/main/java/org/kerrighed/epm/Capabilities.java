package org.kerrighed.epm;

import java.util.EnumSet;
import java.util.Locale;
import java.util.Set;

/**
 * A process's four capability sets, as Kerrighed keeps them: {@code effective} (what it may use now),
 * {@code permitted} (what it may make effective), and the sets its children start from,
 * {@code inheritableEffective} and {@code inheritablePermitted}. Each is a bit mask over {@link Capability}
 * ordinals. Immutable.
 *
 * <p>Rules: a valid value has effective ⊆ permitted, inheritable-permitted ⊆ permitted and inheritable-effective ⊆
 * inheritable-permitted ({@link #validate}). A change ({@link #change}) is intersected with the current permitted
 * set, so capabilities can only be dropped. A child gets permitted = the parent's inheritable-permitted, effective
 * = inheritable-effective ∩ inheritable-permitted, and the parent's inheritable sets ({@link #forChild}).
 */
public record Capabilities(int effective, int permitted, int inheritableEffective, int inheritablePermitted) {
    /** Every capability. */
    public static final int ALL = (1 << Capability.values().length) - 1;

    /**
     * Kerrighed's initial sets: every capability permitted, only {@code CHANGE_KERRIGHED_CAP} effective; the
     * inheritable sets are copies. Nothing migrates, forks remotely or is checkpointed until someone raises it.
     */
    public static final Capabilities KERRIGHED_INITIAL = of(EnumSet.of(Capability.CHANGE_KERRIGHED_CAP),
            EnumSet.allOf(Capability.class), EnumSet.of(Capability.CHANGE_KERRIGHED_CAP), EnumSet.allOf(Capability.class));

    /**
     * The sets of a process started from outside any process, unless its spawn options say otherwise:
     * {@link #KERRIGHED_INITIAL} plus {@code USE_REMOTE_MEMORY} effective and inheritable-effective, because here
     * that capability gates attaching cluster shared memory, which Kerrighed never gated.
     */
    public static final Capabilities DEFAULT = KERRIGHED_INITIAL.withEffective(Capability.USE_REMOTE_MEMORY, true)
            .withInheritableEffective(Capability.USE_REMOTE_MEMORY, true);

    /** Every capability in every set. */
    public static final Capabilities FULL = new Capabilities(ALL, ALL, ALL, ALL);

    public Capabilities {
        for (int m : new int[]{effective, permitted, inheritableEffective, inheritablePermitted}) {
            if ((m & ~ALL) != 0) {
                throw new IllegalArgumentException("capability mask has unknown bits: 0" + Integer.toOctalString(m));
            }
        }
    }

    public static Capabilities of(Set<Capability> effective, Set<Capability> permitted,
                                  Set<Capability> inheritableEffective, Set<Capability> inheritablePermitted) {
        return new Capabilities(mask(effective), mask(permitted), mask(inheritableEffective),
                mask(inheritablePermitted));
    }

    static int mask(Set<Capability> caps) {
        int m = 0;
        for (Capability c : caps) {
            m |= c.bit();
        }
        return m;
    }

    static EnumSet<Capability> set(int mask) {
        EnumSet<Capability> s = EnumSet.noneOf(Capability.class);
        for (Capability c : Capability.values()) {
            if ((mask & c.bit()) != 0) {
                s.add(c);
            }
        }
        return s;
    }

    /** True when {@code c} is effective. */
    public boolean has(Capability c) {
        return (effective & c.bit()) != 0;
    }

    public EnumSet<Capability> effectiveSet() {
        return set(effective);
    }

    public EnumSet<Capability> permittedSet() {
        return set(permitted);
    }

    /**
     * Checks the subset rules.
     *
     * @throws IllegalArgumentException naming the first rule broken and the capabilities that break it
     */
    public Capabilities validate() {
        requireSubset(effective, permitted, "effective", "permitted");
        requireSubset(inheritablePermitted, permitted, "inheritable-permitted", "permitted");
        requireSubset(inheritableEffective, inheritablePermitted, "inheritable-effective", "inheritable-permitted");
        return this;
    }

    private static void requireSubset(int sub, int of, String subName, String ofName) {
        if ((sub & ~of) != 0) {
            throw new IllegalArgumentException(subName + " must be a subset of " + ofName + ": " + names(sub & ~of)
                    + " not in " + ofName);
        }
    }

    /**
     * The sets after a change to {@code requested}: checked with {@link #validate}, then intersected with this
     * value's permitted set (a change never grants what was not permitted).
     *
     * @throws IllegalArgumentException when {@code requested} breaks a subset rule
     */
    public Capabilities change(Capabilities requested) {
        requested.validate();
        return new Capabilities(requested.effective & permitted, requested.permitted & permitted,
                requested.inheritableEffective & permitted, requested.inheritablePermitted & permitted);
    }

    /** The sets a child starts with. */
    public Capabilities forChild() {
        return new Capabilities(inheritableEffective & inheritablePermitted, inheritablePermitted, inheritableEffective,
                inheritablePermitted);
    }

    public Capabilities withEffective(Capability c, boolean on) {
        return new Capabilities(flip(effective, c, on), permitted, inheritableEffective, inheritablePermitted);
    }

    public Capabilities withInheritableEffective(Capability c, boolean on) {
        return new Capabilities(effective, permitted, flip(inheritableEffective, c, on), inheritablePermitted);
    }

    /** Adds {@code c} to the effective and inheritable-effective sets (for spawn options; still subject to rules). */
    public Capabilities plus(Capability c) {
        return withEffective(c, true).withInheritableEffective(c, true);
    }

    private static int flip(int mask, Capability c, boolean on) {
        return on ? mask | c.bit() : mask & ~c.bit();
    }

    /**
     * Applies {@code spec} to {@code mask}: {@code +CAP,-CAP,...} adds and removes, {@code CAP,CAP} or
     * {@code =CAP,CAP} sets exactly (empty for none), and an octal number ({@code 0o23} or {@code 023}) is a mask.
     *
     * @throws IllegalArgumentException on an unknown capability or a malformed spec
     */
    public static int edit(int mask, String spec) {
        String s = spec.trim();
        if (s.matches("0[oO][0-7]+|0[0-7]*")) {
            String digits = s.replaceFirst("^0[oO]?", "");
            int m = digits.isEmpty() ? 0 : Integer.parseInt(digits, 8);
            if ((m & ~ALL) != 0) {
                throw new IllegalArgumentException("capability mask " + s + " has unknown bits (all is 0"
                        + Integer.toOctalString(ALL) + ")");
            }
            return m;
        }
        boolean relative = s.startsWith("+") || s.startsWith("-");
        int result = relative ? mask : 0;
        if (s.startsWith("=")) {
            s = s.substring(1);
        }
        for (String part : s.split(",")) {
            String p = part.trim();
            if (p.isEmpty()) {
                continue;
            }
            char sign = p.charAt(0);
            if (sign == '+' || sign == '-') {
                if (!relative) {
                    throw new IllegalArgumentException("mix of +/- and plain names in '" + spec + "'");
                }
                int bit = Capability.parse(p.substring(1)).bit();
                result = sign == '+' ? result | bit : result & ~bit;
            } else {
                if (relative) {
                    throw new IllegalArgumentException("mix of +/- and plain names in '" + spec + "'");
                }
                result |= Capability.parse(p).bit();
            }
        }
        return result;
    }

    /** The capabilities in {@code mask}, comma-separated ({@code -} for none). */
    public static String names(int mask) {
        if (mask == 0) {
            return "-";
        }
        StringBuilder sb = new StringBuilder();
        for (Capability c : set(mask)) {
            sb.append(sb.isEmpty() ? "" : ",").append(c.name());
        }
        return sb.toString();
    }

    /** One letter per effective capability, {@code -} where absent ({@code C-F-R-}: change, fork, remote memory). */
    public String letters() {
        String letters = "CMFKRS";
        StringBuilder sb = new StringBuilder();
        for (Capability c : Capability.values()) {
            sb.append(has(c) ? letters.charAt(c.ordinal()) : '-');
        }
        return sb.toString();
    }

    @Override
    public String toString() {
        return "effective=" + names(effective) + " permitted=" + names(permitted) + " inheritable-effective="
                + names(inheritableEffective) + " inheritable-permitted=" + names(inheritablePermitted);
    }

    /** Which of the four sets (for tools). */
    public enum Kind {
        EFFECTIVE, PERMITTED, INHERITABLE_EFFECTIVE, INHERITABLE_PERMITTED;

        public static Kind parse(String s) {
            return switch (s.trim().toLowerCase(Locale.ROOT)) {
                case "e", "effective" -> EFFECTIVE;
                case "p", "permitted" -> PERMITTED;
                case "d", "inheritable-effective" -> INHERITABLE_EFFECTIVE;
                case "i", "inheritable-permitted" -> INHERITABLE_PERMITTED;
                default -> throw new IllegalArgumentException("unknown capability set '" + s
                        + "' (e|effective, p|permitted, d|inheritable-effective, i|inheritable-permitted)");
            };
        }
    }

    /** The mask of set {@code k}. */
    public int mask(Kind k) {
        return switch (k) {
            case EFFECTIVE -> effective;
            case PERMITTED -> permitted;
            case INHERITABLE_EFFECTIVE -> inheritableEffective;
            case INHERITABLE_PERMITTED -> inheritablePermitted;
        };
    }

    /** This value with set {@code k} replaced by {@code mask} (not validated). */
    public Capabilities with(Kind k, int mask) {
        return switch (k) {
            case EFFECTIVE -> new Capabilities(mask, permitted, inheritableEffective, inheritablePermitted);
            case PERMITTED -> new Capabilities(effective, mask, inheritableEffective, inheritablePermitted);
            case INHERITABLE_EFFECTIVE -> new Capabilities(effective, permitted, mask, inheritablePermitted);
            case INHERITABLE_PERMITTED -> new Capabilities(effective, permitted, inheritableEffective, mask);
        };
    }
}
