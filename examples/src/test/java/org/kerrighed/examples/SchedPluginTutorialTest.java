package org.kerrighed.examples;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** docs/scheduler-plugins.md shows the example plugin's classes and services files as they are in examples/sched-plugin. */
class SchedPluginTutorialTest {
    private static final Path PLUGIN = Path.of("sched-plugin/src/main");
    private static final Pattern BLOCK = Pattern.compile("```(\\w*)\n(.*?)\n```", Pattern.DOTALL);
    private static final Pattern CLASS = Pattern.compile("public final class (\\w+)");

    @Test
    void theTutorialShowsTheExamplesCodeAsItBuilds() throws IOException {
        String page = Files.readString(Path.of("../docs/scheduler-plugins.md"));
        List<String> shown = new ArrayList<>();
        Matcher m = BLOCK.matcher(page);
        while (m.find()) {
            String code = m.group(2);
            if (code.startsWith("package org.kerrighed.examples.sched;")) {
                Matcher c = CLASS.matcher(code);
                c.find();
                Path source = PLUGIN.resolve("java/org/kerrighed/examples/sched/" + c.group(1) + ".java");
                assertEquals(Files.readString(source).stripTrailing(), code, "the page shows " + source + " as it is");
                shown.add(c.group(1));
            } else if (code.startsWith("org.kerrighed.examples.sched.")) {
                String service = code.endsWith("PolicyFactory") ? "org.kerrighed.scheduler.PolicyFactory"
                        : "org.kerrighed.scheduler.ProbeFactory";
                assertEquals(Files.readString(PLUGIN.resolve("resources/META-INF/services/" + service)).stripTrailing(),
                        code);
                shown.add(service);
            }
        }
        assertEquals(List.of("PackPolicy", "PackPolicyFactory", "SlotsProbe", "SlotsProbeFactory",
                "org.kerrighed.scheduler.PolicyFactory", "org.kerrighed.scheduler.ProbeFactory"), shown);
    }
}
