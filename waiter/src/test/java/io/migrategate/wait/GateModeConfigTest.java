package io.migrategate.wait;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.migrategate.core.UsageException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The gate-mode settings: flags, the env the webhook injects, and the errors that name the fix. */
class GateModeConfigTest {
  static final List<String> JOB = List.of("--namespace", "shop", "--job", "migrate");

  @Test
  void theWebhooksEnvSelectsGateModeWithTheDefaultTokenFile() throws Exception {
    WaiterConfig config =
        WaiterConfig.parse(
            List.of(),
            Map.of(
                "MIGRATE_GATE_NAMESPACE", "shop",
                "MIGRATE_GATE_JOBS", "migrate",
                "MIGRATE_GATE_URL", "https://migrate-gate.migrate-gate.svc/",
                "MIGRATE_GATE_CA", "-----BEGIN CERTIFICATE-----\n..."));
    GateEndpoint gate = config.gate().orElseThrow();
    assertEquals(URI.create("https://migrate-gate.migrate-gate.svc"), gate.url());
    assertEquals(Optional.of("-----BEGIN CERTIFICATE-----\n..."), gate.caPem());
    assertEquals(GateEndpoint.DEFAULT_TOKEN_FILE, gate.tokenFile());
  }

  @Test
  void flagsWinAndACaFileWinsOverThePemInEnv(@TempDir Path dir) throws Exception {
    Path ca = Files.writeString(dir.resolve("ca.crt"), "pem");
    WaiterConfig config =
        WaiterConfig.parse(
            concat(
                "--gate-url", "https://127.0.0.1:8443",
                "--gate-ca-file", ca.toString(),
                "--token-file", dir.resolve("token").toString()),
            Map.of("MIGRATE_GATE_URL", "https://elsewhere", "MIGRATE_GATE_CA", "ignored"));
    GateEndpoint gate = config.gate().orElseThrow();
    assertEquals(URI.create("https://127.0.0.1:8443"), gate.url());
    assertEquals(Optional.of(ca), gate.caFile());
    assertEquals(Optional.empty(), gate.caPem());
    assertEquals(dir.resolve("token"), gate.tokenFile());
  }

  @Test
  void withoutAGateUrlTheWaiterReadsTheApi() throws Exception {
    assertEquals(Optional.empty(), WaiterConfig.parse(JOB, Map.of()).gate());
  }

  @Test
  void mistakesAreNamed(@TempDir Path dir) throws Exception {
    assertMessage(concat("--gate-url", "http://gate"), "give an https URL with a host");
    assertMessage(concat("--gate-url", "https://gate?x=1"), "no query or fragment");
    assertMessage(concat("--token-file", "/t"), "--token-file is only used in gate mode");
    Path kubeconfig = Files.writeString(dir.resolve("kubeconfig"), "apiVersion: v1");
    assertMessage(
        concat("--gate-url", "https://gate", "--kubeconfig", kubeconfig.toString()),
        "--kubeconfig and --gate-url both given");
  }

  private static List<String> concat(String... more) {
    List<String> args = new java.util.ArrayList<>(JOB);
    args.addAll(List.of(more));
    return args;
  }

  private static void assertMessage(List<String> args, String expected) {
    UsageException e = assertThrows(UsageException.class, () -> WaiterConfig.parse(args, Map.of()));
    assertTrue(
        e.getMessage().contains(expected),
        () -> "expected \"" + expected + "\" in: " + e.getMessage());
  }
}
