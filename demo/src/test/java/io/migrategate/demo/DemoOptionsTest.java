package io.migrategate.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.migrategate.core.UsageException;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class DemoOptionsTest {
  private static final Path ROOT = Path.of("/repo");

  @Test
  void defaultsAreTheRealDemo() throws Exception {
    DemoOptions options = DemoOptions.parse(List.of(), Map.of("TERM", "xterm"), ROOT);
    assertEquals("shop", options.namespace());
    assertEquals("migrate-gate.local/busybox:1", options.appImage());
    assertEquals("migrate-gate.local/busybox:1", options.jobImage());
    assertFalse(options.keep());
    assertFalse(options.color(), "no colours without a terminal (tests have no console)");
  }

  @Test
  void flagsInBothSpellings() throws Exception {
    DemoOptions options =
        DemoOptions.parse(
            List.of("--keep", "--namespace=x", "--namespace=shop-x1", "--app-image", "shop:2"),
            Map.of(),
            ROOT);
    assertTrue(options.keep());
    assertEquals("shop-x1", options.namespace());
    assertEquals("shop:2", options.appImage());
  }

  @Test
  void aRealClusterGetsAFreshNamespacePerRun() throws Exception {
    DemoOptions options =
        DemoOptions.parse(List.of("--cluster", "--manifests", "."), Map.of(), ROOT);
    assertTrue(options.namespace().startsWith("shop-"), options.namespace());
    assertEquals("busybox:1.37", options.appImage(), "a real cluster pulls from a registry");
  }

  @Test
  void badArgumentsNameTheFlagAndTheFix() {
    assertEquals(
        "unknown argument '--bogus'; demo/run --help lists the options",
        assertThrows(
                UsageException.class, () -> DemoOptions.parse(List.of("--bogus"), Map.of(), ROOT))
            .getMessage());
    assertTrue(
        assertThrows(
                UsageException.class,
                () -> DemoOptions.parse(List.of("--namespace", "Shop"), Map.of(), ROOT))
            .getMessage()
            .startsWith("--namespace 'Shop': use lower-case letters"));
    assertEquals(
        "--namespace needs a value",
        assertThrows(
                UsageException.class,
                () -> DemoOptions.parse(List.of("--namespace"), Map.of(), ROOT))
            .getMessage());
  }

  @Test
  void usageErrorExits64AndHelpExits0() {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8);
    assertEquals(DemoMain.EXIT_USAGE, DemoMain.run(List.of("--bogus"), Map.of(), out));
    assertTrue(bytes.toString(StandardCharsets.UTF_8).startsWith("demo: unknown argument"));
    bytes.reset();
    assertEquals(DemoMain.EXIT_OK, DemoMain.run(List.of("--help"), Map.of(), out));
    assertTrue(bytes.toString(StandardCharsets.UTF_8).startsWith("Usage: demo/run"));
  }
}
