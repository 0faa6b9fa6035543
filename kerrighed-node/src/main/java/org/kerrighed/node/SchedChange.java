package org.kerrighed.node;

import org.kerrighed.scheduler.ClusterScheduler;
import org.kerrighed.scheduler.FilterSpec;
import org.kerrighed.scheduler.NodeSet;
import org.kerrighed.scheduler.ProbeSpec;
import org.kerrighed.scheduler.ProcessSet;
import org.kerrighed.scheduler.SchedulerSpec;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One change of the cluster's scheduler configuration, in the words of {@code krg sched} after {@code sched}, and
 * parsed from them: what {@code krg sched} sends to a node, and what a node's start-up scheduler file
 * ({@code scheduler.config}) holds, one per line. The words:
 * <pre>
 * defaults
 * clear
 * create probe NAME TYPE [period=MS] [on_change=true] [KEY=VALUE...]
 * create scheduler NAME POLICY [processes=SET] [nodes=SET] [KEY=VALUE...]
 * link SCHEDULER.PORT PROBE/SOURCE [FILTER[:KEY=VALUE,KEY=VALUE]...]
 * unlink SCHEDULER.PORT
 * set NAME KEY=VALUE...            (an empty VALUE removes the parameter)
 * remove NAME
 * load JAR [NAME]                  (NAME: the JAR's file name without .jar and a version suffix)
 * unload NAME
 * </pre>
 * Parsing checks everything that can be checked without the cluster (names, numbers, sets, filters); the rest
 * (unknown types, ports, sources, names in use) is checked by {@link ClusterScheduler} when the change is
 * {@linkplain #apply applied}. Both throw {@link IllegalArgumentException} with a one-line message.
 */
public sealed interface SchedChange {
    /** How a command is written, for messages. */
    List<String> USAGE = List.of(
            "defaults",
            "clear",
            "create probe NAME TYPE [period=MS] [on_change=true] [KEY=VALUE...]",
            "create scheduler NAME POLICY [processes=SET] [nodes=SET] [KEY=VALUE...]",
            "link SCHEDULER.PORT PROBE/SOURCE [FILTER[:KEY=VALUE,...]...]",
            "unlink SCHEDULER.PORT",
            "set NAME KEY=VALUE...",
            "remove NAME",
            "load JAR [NAME]",
            "unload NAME");

    /**
     * Applies the change to the cluster's configuration through {@code scheduler}.
     *
     * @return the configuration version that holds it
     * @throws IllegalArgumentException when the scheduler refuses it (nothing changed)
     */
    long apply(ClusterScheduler scheduler);

    /** Kerrighed's default schedulers ({@link ClusterScheduler#installDefaults()}). */
    record Defaults() implements SchedChange {
        @Override
        public long apply(ClusterScheduler s) {
            return s.installDefaults();
        }
    }

    /** Every probe and scheduler removed ({@link ClusterScheduler#clear()}). */
    record Clear() implements SchedChange {
        @Override
        public long apply(ClusterScheduler s) {
            return s.clear();
        }
    }

    /** {@link ClusterScheduler#createProbe}. */
    record CreateProbe(String name, String type, long periodMillis, boolean onChange, Map<String, String> params)
            implements SchedChange {
        public CreateProbe {
            new ProbeSpec(name, type, periodMillis, onChange, params);          // checks the names and the period
            params = Map.copyOf(params);
        }

        @Override
        public long apply(ClusterScheduler s) {
            return s.createProbe(name, type, periodMillis, onChange, params);
        }
    }

    /** {@link ClusterScheduler#createScheduler}. */
    record CreateScheduler(String name, String policy, ProcessSet processes, NodeSet nodes, Map<String, String> params)
            implements SchedChange {
        public CreateScheduler {
            new SchedulerSpec(name, policy, 0, params, Map.of(), processes, nodes);   // checks the names and sets
            params = Map.copyOf(params);
        }

        @Override
        public long apply(ClusterScheduler s) {
            return s.createScheduler(name, policy, processes, nodes, params);
        }
    }

    /** {@link ClusterScheduler#link}. */
    record Link(String scheduler, String port, String probe, String source, List<FilterSpec> filters)
            implements SchedChange {
        public Link {
            filters = List.copyOf(filters);
        }

        @Override
        public long apply(ClusterScheduler s) {
            return s.link(scheduler, port, probe, source, filters);
        }
    }

    /** {@link ClusterScheduler#unlink}. */
    record Unlink(String scheduler, String port) implements SchedChange {
        @Override
        public long apply(ClusterScheduler s) {
            return s.unlink(scheduler, port);
        }
    }

    /** {@link ClusterScheduler#set}. */
    record SetParams(String name, Map<String, String> params) implements SchedChange {
        public SetParams {
            params = Map.copyOf(params);
        }

        @Override
        public long apply(ClusterScheduler s) {
            return s.set(name, params);
        }
    }

    /** {@link ClusterScheduler#remove}. */
    record Remove(String name) implements SchedChange {
        @Override
        public long apply(ClusterScheduler s) {
            return s.remove(name);
        }
    }

    /** {@link ClusterScheduler#loadPlugin}, from a JAR on the applying node's file system. */
    record Load(Path jar, String name) implements SchedChange {
        @Override
        public long apply(ClusterScheduler s) {
            s.loadPlugin(jar, name);
            return s.config().version();
        }
    }

    /** {@link ClusterScheduler#unloadPlugin}. */
    record Unload(String name) implements SchedChange {
        @Override
        public long apply(ClusterScheduler s) {
            return s.unloadPlugin(name);
        }
    }

    /** A change read from line {@code line} of a scheduler file. */
    record Line(int line, String text, SchedChange change) {
    }

    /**
     * Parses one command given as words ({@code ["create", "probe", "p1", "load", "period=500"]}); a relative JAR
     * path of {@code load} is resolved against {@code base} (null: left as it is).
     *
     * @throws IllegalArgumentException naming what is wrong
     */
    static SchedChange parse(List<String> words, Path base) {
        if (words.isEmpty()) {
            throw new IllegalArgumentException("no command: " + String.join(" | ", USAGE));
        }
        String verb = words.getFirst();
        List<String> args = words.subList(1, words.size());
        return switch (verb) {
            case "defaults" -> {
                count(args, 0, 0, "defaults");
                yield new Defaults();
            }
            case "clear" -> {
                count(args, 0, 0, "clear");
                yield new Clear();
            }
            case "create" -> create(args);
            case "link" -> {
                count(args, 2, Integer.MAX_VALUE, USAGE.get(4));
                String[] port = port(args.getFirst());
                int slash = args.get(1).indexOf('/');
                if (slash <= 0 || slash == args.get(1).length() - 1) {
                    throw new IllegalArgumentException("PROBE/SOURCE expected, got '" + args.get(1) + "'");
                }
                List<FilterSpec> filters = new ArrayList<>();
                for (String f : args.subList(2, args.size())) {
                    try {
                        filters.add(FilterSpec.parse(f));
                    } catch (IllegalArgumentException e) {
                        throw new IllegalArgumentException("bad filter '" + f + "': " + e.getMessage(), e);
                    }
                }
                yield new Link(port[0], port[1], args.get(1).substring(0, slash), args.get(1).substring(slash + 1),
                        filters);
            }
            case "unlink" -> {
                count(args, 1, 1, USAGE.get(5));
                String[] port = port(args.getFirst());
                yield new Unlink(port[0], port[1]);
            }
            case "set" -> {
                count(args, 2, Integer.MAX_VALUE, USAGE.get(6));
                yield new SetParams(args.getFirst(), params(args.subList(1, args.size()), true));
            }
            case "remove" -> {
                count(args, 1, 1, USAGE.get(7));
                yield new Remove(args.getFirst());
            }
            case "load" -> {
                count(args, 1, 2, USAGE.get(8));
                Path jar = Path.of(args.getFirst());
                if (base != null && !jar.isAbsolute()) {
                    jar = base.resolve(jar);
                }
                yield new Load(jar, args.size() == 2 ? args.get(1) : pluginName(jar));
            }
            case "unload" -> {
                count(args, 1, 1, USAGE.get(9));
                yield new Unload(args.getFirst());
            }
            default -> throw new IllegalArgumentException("unknown command '" + verb + "': " + String.join(" | ",
                    USAGE));
        };
    }

    /** {@link #parse(List, Path)} without a base directory. */
    static SchedChange parse(List<String> words) {
        return parse(words, null);
    }

    /**
     * Parses a scheduler file: one command a line, words separated by blanks; empty lines are skipped, and a word
     * starting with {@code #} starts a comment that runs to the end of the line. Relative JAR paths are resolved
     * against {@code base}.
     *
     * @param source the file's name, for messages
     * @throws IllegalArgumentException for the first bad line, as {@code SOURCE:LINE: message}
     */
    static List<Line> parseScript(String text, String source, Path base) {
        List<Line> out = new ArrayList<>();
        String[] lines = text.split("\r?\n", -1);
        for (int i = 0; i < lines.length; i++) {
            List<String> words = words(lines[i]);
            if (words.isEmpty()) {
                continue;
            }
            try {
                out.add(new Line(i + 1, String.join(" ", words), parse(words, base)));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(source + ":" + (i + 1) + ": " + e.getMessage(), e);
            }
        }
        return out;
    }

    /** A line's words, up to a word that starts a comment. */
    static List<String> words(String line) {
        List<String> words = new ArrayList<>();
        for (String w : line.strip().split("\\s+")) {
            if (w.startsWith("#")) {
                break;
            }
            if (!w.isEmpty()) {
                words.add(w);
            }
        }
        return words;
    }

    /**
     * The plugin name a JAR gets when none is given: its file name without {@code .jar} and a version suffix
     * ({@code pack-policy-1.2.0-SNAPSHOT.jar}: {@code pack-policy}).
     *
     * @throws IllegalArgumentException when that is not a valid name (then one must be given)
     */
    static String pluginName(Path jar) {
        String file = jar.getFileName() == null ? "" : jar.getFileName().toString();
        String base = file.endsWith(".jar") ? file.substring(0, file.length() - 4) : file;
        Matcher m = Pattern.compile("(.+?)[-_]v?\\d+(\\.\\d+)*([-.][A-Za-z0-9.]*)?").matcher(base);
        String name = m.matches() ? m.group(1) : base;
        if (!name.matches("[a-zA-Z][a-zA-Z0-9_-]{0,47}")) {
            throw new IllegalArgumentException("no plugin name can be made from the file name '" + file
                    + "': give one (a letter, then up to 47 letters, digits, '_' or '-')");
        }
        return name;
    }

    private static SchedChange create(List<String> args) {
        if (args.isEmpty() || !args.getFirst().equals("probe") && !args.getFirst().equals("scheduler")) {
            throw new IllegalArgumentException("create what? " + USAGE.get(2) + " | " + USAGE.get(3));
        }
        boolean probe = args.getFirst().equals("probe");
        String usage = USAGE.get(probe ? 2 : 3);
        List<String> rest = args.subList(1, args.size());
        count(rest, 2, Integer.MAX_VALUE, usage);
        Map<String, String> params = params(rest.subList(2, rest.size()), false);
        if (probe) {
            String period = params.remove("period");
            String onChange = params.remove("on_change");
            if (onChange != null && !onChange.equals("true") && !onChange.equals("false")) {
                throw new IllegalArgumentException("on_change is true or false, not '" + onChange + "'");
            }
            return new CreateProbe(rest.get(0), rest.get(1), period == null ? ProbeSpec.DEFAULT_PERIOD_MILLIS
                    : millis(period), "true".equals(onChange), params);
        }
        String processes = params.remove("processes");
        String nodes = params.remove("nodes");
        return new CreateScheduler(rest.get(0), rest.get(1), processes == null ? ProcessSet.ALL
                : ProcessSet.parse(processes), nodes == null ? NodeSet.ALL : NodeSet.parse(nodes), params);
    }

    private static long millis(String v) {
        try {
            return Long.parseLong(v);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("period must be a number of milliseconds, 1-3600000, not '" + v + "'");
        }
    }

    /** {@code SCHEDULER.PORT} split in two. */
    private static String[] port(String s) {
        int dot = s.indexOf('.');
        if (dot <= 0 || dot == s.length() - 1) {
            throw new IllegalArgumentException("SCHEDULER.PORT expected, got '" + s + "'");
        }
        return new String[] {s.substring(0, dot), s.substring(dot + 1)};
    }

    private static Map<String, String> params(List<String> words, boolean emptyValues) {
        Map<String, String> out = new LinkedHashMap<>();
        for (String w : words) {
            int eq = w.indexOf('=');
            if (eq <= 0 || !emptyValues && eq == w.length() - 1) {
                throw new IllegalArgumentException("KEY=VALUE expected, got '" + w + "'");
            }
            if (out.put(w.substring(0, eq), w.substring(eq + 1)) != null) {
                throw new IllegalArgumentException(w.substring(0, eq) + " is given twice");
            }
        }
        return out;
    }

    private static void count(List<String> args, int min, int max, String usage) {
        if (args.size() < min || args.size() > max) {
            throw new IllegalArgumentException((args.size() < min ? "missing arguments" : "too many arguments")
                    + ": " + usage);
        }
    }
}
