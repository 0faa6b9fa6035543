package org.kerrighed.epm.testing;

import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.stream.Stream;

/**
 * Application JARs built at test time (for tests of {@code krg run} and of application programs): sources compiled
 * against the running JVM's classpath with the JDK's compiler, classes packed in a JAR.
 */
public final class TestJars {
    private TestJars() {
    }

    /**
     * Compiles {@code sources} (binary class name to source) and packs the classes, plus {@code resources} (path to
     * text), into {@code jar}; the class files are left nowhere else, so the classes are not on any classpath.
     */
    public static Path build(Path jar, Map<String, String> sources, Map<String, String> resources) throws IOException {
        Path work = Files.createTempDirectory("test-app-");
        try {
            Path src = work.resolve("src");
            Path classes = work.resolve("classes");
            List<String> args = new ArrayList<>(List.of("-d", classes.toString(), "-classpath",
                    System.getProperty("java.class.path"), "-proc:none"));
            for (var e : sources.entrySet()) {
                Path f = src.resolve(e.getKey().replace('.', '/') + ".java");
                Files.createDirectories(f.getParent());
                Files.writeString(f, e.getValue());
                args.add(f.toString());
            }
            JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
            ByteArrayOutputStream diagnostics = new ByteArrayOutputStream();
            if (javac.run(null, diagnostics, diagnostics, args.toArray(String[]::new)) != 0) {
                throw new IllegalStateException("test application does not compile:\n" + diagnostics);
            }
            try (OutputStream out = Files.newOutputStream(jar); JarOutputStream j = new JarOutputStream(out);
                 Stream<Path> files = Files.walk(classes)) {
                for (Path f : files.filter(Files::isRegularFile).sorted().toList()) {
                    put(j, classes.relativize(f).toString().replace('\\', '/'), Files.readAllBytes(f));
                }
                for (var e : resources.entrySet()) {
                    put(j, e.getKey(), e.getValue().getBytes(StandardCharsets.UTF_8));
                }
            }
            return jar;
        } finally {
            try (Stream<Path> files = Files.walk(work)) {
                for (Path p : files.sorted(java.util.Comparator.reverseOrder()).toList()) {
                    Files.delete(p);
                }
            }
        }
    }

    private static void put(JarOutputStream j, String name, byte[] bytes) throws IOException {
        JarEntry e = new JarEntry(name);
        e.setTime(0);
        j.putNextEntry(e);
        j.write(bytes);
        j.closeEntry();
    }
}
