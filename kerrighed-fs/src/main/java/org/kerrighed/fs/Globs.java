package org.kerrighed.fs;

import java.util.regex.PatternSyntaxException;

/**
 * Translates globs into regular expressions with the semantics of the default file system on Unix: {@code *} any
 * run of characters within a name, {@code **} any run across names, {@code ?} one character of a name,
 * {@code [abc]}, {@code [a-z]} and {@code [!a-z]} one character of a name from (or not from) a class, {@code {a,b}}
 * one of the (unnested) alternatives, and {@code \} escaping the next character (outside classes).
 */
final class Globs {
    private static final String REGEX_META = ".^$+{[]|()";
    private static final String GLOB_META = "\\*?[{";
    private static final char END = 0;

    private Globs() {
    }

    /** The regular expression matching the whole path strings that {@code glob} matches. */
    static String toRegex(String glob) {
        StringBuilder regex = new StringBuilder("^");
        boolean inGroup = false;
        int i = 0;
        while (i < glob.length()) {
            char c = glob.charAt(i++);
            switch (c) {
                case '\\' -> {
                    if (i == glob.length()) {
                        throw new PatternSyntaxException("No character to escape", glob, i - 1);
                    }
                    char next = glob.charAt(i++);
                    if (GLOB_META.indexOf(next) >= 0 || REGEX_META.indexOf(next) >= 0) {
                        regex.append('\\');
                    }
                    regex.append(next);
                }
                case '/' -> regex.append(c);
                case '[' -> i = appendClass(glob, i, regex);
                case '{' -> {
                    if (inGroup) {
                        throw new PatternSyntaxException("Cannot nest groups", glob, i - 1);
                    }
                    regex.append("(?:(?:");
                    inGroup = true;
                }
                case '}' -> {
                    if (inGroup) {
                        regex.append("))");
                        inGroup = false;
                    } else {
                        regex.append('}');
                    }
                }
                case ',' -> regex.append(inGroup ? ")|(?:" : ",");
                case '*' -> {
                    if (at(glob, i) == '*') {
                        regex.append(".*");
                        i++;
                    } else {
                        regex.append("[^/]*");
                    }
                }
                case '?' -> regex.append("[^/]");
                default -> {
                    if (REGEX_META.indexOf(c) >= 0) {
                        regex.append('\\');
                    }
                    regex.append(c);
                }
            }
        }
        if (inGroup) {
            throw new PatternSyntaxException("Missing '}'", glob, i - 1);
        }
        return regex.append('$').toString();
    }

    /** Appends the class starting after the {@code [} at {@code i - 1}; returns the index after its {@code ]}. */
    private static int appendClass(String glob, int i, StringBuilder regex) {
        regex.append("[[^/]&&[");
        if (at(glob, i) == '^') {
            regex.append("\\^");
            i++;
        } else {
            if (at(glob, i) == '!') {
                regex.append('^');
                i++;
            }
            if (at(glob, i) == '-') {
                regex.append('-');
                i++;
            }
        }
        boolean hasRangeStart = false;
        char last = 0;
        char c = END;
        while (i < glob.length()) {
            c = glob.charAt(i++);
            if (c == ']') {
                break;
            }
            if (c == '/') {
                throw new PatternSyntaxException("Explicit 'name separator' in class", glob, i - 1);
            }
            if (c == '\\' || c == '[' || (c == '&' && at(glob, i) == '&')) {
                regex.append('\\');
            }
            regex.append(c);
            if (c == '-') {
                if (!hasRangeStart) {
                    throw new PatternSyntaxException("Invalid range", glob, i - 1);
                }
                c = at(glob, i++);
                if (c == END || c == ']') {
                    break;
                }
                if (c < last) {
                    throw new PatternSyntaxException("Invalid range", glob, i - 3);
                }
                regex.append(c);
                hasRangeStart = false;
            } else {
                hasRangeStart = true;
                last = c;
            }
        }
        if (c != ']') {
            throw new PatternSyntaxException("Missing ']", glob, i - 1);
        }
        regex.append("]]");
        return i;
    }

    private static char at(String s, int i) {
        return i < s.length() ? s.charAt(i) : END;
    }
}
