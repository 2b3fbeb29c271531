package io.migrategate.wait;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.migrategate.core.Durations;
import io.migrategate.core.UsageException;
import io.migrategate.wait.WaiterConfig.LogFormat;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class WaiterConfigTest {

  @Test
  void readsEveryFlag(@TempDir Path dir) throws Exception {
    Path kubeconfig = Files.writeString(dir.resolve("kubeconfig"), "apiVersion: v1");
    WaiterConfig config =
        WaiterConfig.parse(
            List.of(
                "--namespace",
                "shop",
                "--job",
                "schema, data",
                "--timeout=1h30m",
                "--revision",
                "42",
                "--kubeconfig",
                kubeconfig.toString(),
                "--termination-log",
                dir.resolve("term").toString(),
                "--log-format",
                "json"),
            Map.of());
    assertEquals("shop", config.namespace());
    assertEquals(List.of("schema", "data"), config.jobs());
    assertEquals(Optional.of(Duration.ofMinutes(90)), config.timeout());
    assertEquals("42", config.revision());
    assertEquals(Optional.of(kubeconfig), config.kubeconfig());
    assertEquals(dir.resolve("term"), config.terminationLog());
    assertEquals(LogFormat.JSON, config.logFormat());
  }

  @Test
  void fallsBackToTheEnvironmentTheWebhookInjects() throws Exception {
    WaiterConfig config =
        WaiterConfig.parse(
            List.of(),
            Map.of(
                "MIGRATE_GATE_NAMESPACE", "shop",
                "MIGRATE_GATE_JOBS", "db-migrate",
                "MIGRATE_GATE_TIMEOUT", "90s",
                "MIGRATE_GATE_REVISION", "7",
                "MIGRATE_GATE_LOG_FORMAT", "TEXT"));
    assertEquals("shop", config.namespace());
    assertEquals(List.of("db-migrate"), config.jobs());
    assertEquals(Optional.of(Duration.ofSeconds(90)), config.timeout());
    assertEquals("7", config.revision());
    assertEquals(Optional.empty(), config.kubeconfig());
    assertEquals(WaiterConfig.DEFAULT_TERMINATION_LOG, config.terminationLog());
    assertEquals(LogFormat.TEXT, config.logFormat());
  }

  @Test
  void aFlagWinsOverItsVariable() throws Exception {
    WaiterConfig config =
        WaiterConfig.parse(
            List.of("--job", "from-flag"),
            Map.of("MIGRATE_GATE_NAMESPACE", "shop", "MIGRATE_GATE_JOBS", "from-env"));
    assertEquals(List.of("from-flag"), config.jobs());
  }

  @Test
  void noTimeoutMeansWaitWithoutLimit() throws Exception {
    WaiterConfig config =
        WaiterConfig.parse(
            List.of("--namespace", "shop", "--job", "a"), Map.of("MIGRATE_GATE_TIMEOUT", " "));
    assertEquals(Optional.empty(), config.timeout());
  }

  @Test
  void usageErrorsNameTheFlagAndTheFix() {
    assertMessage(List.of("--job", "a"), "missing --namespace (or MIGRATE_GATE_NAMESPACE)");
    assertMessage(List.of("--namespace", "shop"), "missing --job (or MIGRATE_GATE_JOBS)");
    assertMessage(List.of("--namespace", "Shop", "--job", "a"), "invalid --namespace \"Shop\"");
    assertMessage(
        List.of("--namespace", "shop", "--job", "a,,b"),
        "empty name in the list; use NAME[,NAME...]");
    assertMessage(List.of("--namespace", "shop", "--job", "A_b"), "invalid --job name \"A_b\"");
    assertMessage(
        List.of("--namespace", "shop", "--job", "a", "--timeout", "10"),
        "invalid --timeout \"10\" (or MIGRATE_GATE_TIMEOUT): use a positive duration like 90s, 10m, 1h");
    assertMessage(
        List.of("--namespace", "shop", "--job", "a", "--timeout", "0s"),
        "invalid --timeout \"0s\"");
    assertMessage(
        List.of("--namespace", "shop", "--job", "a", "--log-format", "xml"), "use text or json");
    assertMessage(
        List.of("--namespace", "shop", "--job", "a", "--kubeconfig", "/no/such/file"),
        "no readable file");
    assertMessage(
        List.of("--namespace", "shop", "--job"), "--job needs a value, e.g. --job db-migrate");
    assertMessage(
        List.of("--namespace", "shop", "--job", "a", "--wait"), "unknown argument \"--wait\"");
    assertMessage(
        List.of("--namespace", "a", "--namespace", "b", "--job", "a"), "--namespace given twice");
  }

  @Test
  void durationsAsPeopleWriteThem() {
    assertEquals(Duration.ofSeconds(90), Durations.parse("90s"));
    assertEquals(Duration.ofMinutes(10), Durations.parse("10m"));
    assertEquals(Duration.ofHours(1), Durations.parse("1h"));
    assertEquals(Duration.ofMinutes(90), Durations.parse("1h30m"));
    assertEquals(Duration.ofMillis(500), Durations.parse("500ms"));
    assertThrows(IllegalArgumentException.class, () -> Durations.parse("1.5h"));
    assertThrows(IllegalArgumentException.class, () -> Durations.parse("m"));
    assertEquals("0.4 s", Durations.format(Duration.ofMillis(420)));
    assertEquals("83 s", Durations.format(Duration.ofSeconds(83)));
    assertEquals("5m", Durations.format(Duration.ofMinutes(5).plusSeconds(10)));
    assertEquals("1h5m", Durations.format(Duration.ofMinutes(65)));
  }

  @Test
  void helpPrintsUsageAndExitsZero() {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    int code =
        WaiterMain.run(List.of("--help"), Map.of(), print(out), print(new ByteArrayOutputStream()));
    assertEquals(0, code);
    assertTrue(out.toString(StandardCharsets.UTF_8).startsWith("Usage: migrate-gate-waiter"));
  }

  @Test
  void usageErrorExits64AndWritesTheTerminationLog(@TempDir Path dir) throws Exception {
    Path terminationLog = dir.resolve("termination-log");
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int code =
        WaiterMain.run(
            List.of("--job", "a", "--termination-log", terminationLog.toString()),
            Map.of(),
            print(new ByteArrayOutputStream()),
            print(err));
    assertEquals(64, code);
    assertTrue(err.toString(StandardCharsets.UTF_8).contains("missing --namespace"));
    assertEquals(
        "usage error: missing --namespace (or MIGRATE_GATE_NAMESPACE): the namespace of the Job(s) to wait for\n",
        Files.readString(terminationLog));
  }

  private static void assertMessage(List<String> args, String expected) {
    UsageException e = assertThrows(UsageException.class, () -> WaiterConfig.parse(args, Map.of()));
    assertTrue(
        e.getMessage().contains(expected),
        () -> "expected \"" + expected + "\" in: " + e.getMessage());
  }

  private static PrintStream print(ByteArrayOutputStream bytes) {
    return new PrintStream(bytes, true, StandardCharsets.UTF_8);
  }
}
