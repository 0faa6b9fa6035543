package org.kerrighed.epm;

import java.lang.reflect.Constructor;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;

/**
 * The main class of an application JAR, run as a process (what {@code krg run app.jar Main args} starts). Its
 * arguments are the process's ({@link SpawnOptions#args}). On the node it is placed on, it loads {@code mainClass}
 * from application {@code app}'s class loader there (fetching the JAR from node {@code origin} first if that node
 * does not hold it, see {@link Applications}), then:
 * <ul>
 *   <li>a class that implements {@link Program} is instantiated with its public no-arg constructor and run;</li>
 *   <li>any other class must have a {@code public static void main(String[])}, which is called with the process's
 *       arguments; the exit code is 0 when it returns. It reaches its process with
 *       {@link ClusterThread#context()}. It must not call {@link System#exit}: that would stop the node's JVM.</li>
 * </ul>
 * The thread's context class loader is the application's while the class runs. Make one with
 * {@link Applications#main}, which checks the class on the node that holds the JAR.
 *
 * @param app       the application's checksum (SHA-256 of its JAR, 64 lowercase hex digits)
 * @param origin    a node that holds the JAR
 * @param mainClass the binary name of the class to run
 */
public record AppMain(String app, int origin, String mainClass) implements Program {
    public AppMain {
        Applications.checkId(app);
        if (origin < 0 || origin > 255) {
            throw new IllegalArgumentException("origin must be a node id 0-255, got " + origin);
        }
        if (mainClass == null || mainClass.isBlank()) {
            throw new IllegalArgumentException("mainClass: a class name is required");
        }
    }

    @Override
    public int run(ProcessContext ctx) throws Exception {
        Applications apps = ctx.epm().applications();
        Class<?> c = apps.mainClass(app, origin, mainClass);
        Thread t = Thread.currentThread();
        ClassLoader saved = t.getContextClassLoader();
        t.setContextClassLoader(c.getClassLoader());
        try {
            if (Program.class.isAssignableFrom(c)) {
                Constructor<?> k = c.getConstructor();
                k.setAccessible(true);                     // a public constructor of a class that need not be public
                return ((Program) k.newInstance()).run(ctx);
            }
            Method main = c.getMethod("main", String[].class);
            main.setAccessible(true);
            main.invoke(null, (Object) ctx.args().toArray(String[]::new));
            return 0;
        } catch (InvocationTargetException e) {
            Throwable cause = e.getCause();
            if (cause instanceof Exception x) {
                throw x;
            }
            if (cause instanceof Error x) {
                throw x;                               // LocalProcess's Ended (a signal, exit) among them
            }
            throw new IllegalStateException(cause);
        } finally {
            t.setContextClassLoader(saved);
        }
    }
}
