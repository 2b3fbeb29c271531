package io.migrategate.gate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.migrategate.core.UsageException;
import io.migrategate.gate.admission.FailurePolicy;
import io.migrategate.gate.admission.InjectionConfig;
import io.migrategate.gate.admission.KubernetesOwnerLookup;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class GateConfigTest {
  private static Path cert;
  private static Path key;

  @BeforeAll
  static void files() throws Exception {
    Path directory = Files.createTempDirectory("gate-config");
    cert = Files.writeString(directory.resolve("tls.crt"), "pem");
    key = Files.writeString(directory.resolve("tls.key"), "pem");
  }

  private static List<String> required(String... more) {
    List<String> args =
        new ArrayList<>(
            List.of(
                "--tls-cert-file", cert.toString(),
                "--tls-key-file", key.toString(),
                "--waiter-image", "waiter:1"));
    args.addAll(List.of(more));
    return args;
  }

  @Test
  void defaultsMatchTheDocumentation() throws Exception {
    GateConfig config = GateConfig.parse(required("--namespace", "gate"), Map.of());

    assertEquals(8443, config.port());
    assertEquals(8080, config.probePort());
    assertNull(config.kubeconfig());
    assertEquals(FailurePolicy.FAIL_CLOSED, config.ownerLookupFailurePolicy());
    assertEquals(KubernetesOwnerLookup.DEFAULT_LOOKUP_TIMEOUT, config.ownerLookupTimeout());
    assertEquals(List.of(), config.excludedNamespaces());
    assertEquals(InjectionConfig.DEFAULT_RESOURCES, config.waiterResources());
    assertEquals(Duration.ofSeconds(5), config.drainDelay());
    assertEquals(Duration.ofSeconds(10), config.shutdownTimeout());
    assertEquals(GateConfig.LogFormat.TEXT, config.logFormat());
    assertEquals(InjectionConfig.DEFAULT_RUN_AS_USER, config.waiterRunAsUser());
  }

  @Test
  void theWaitersUidIsANonRootNumberOrLeftToThePlatform() throws Exception {
    assertEquals(
        OptionalLong.empty(),
        GateConfig.parse(required("--waiter-run-as-user", "platform"), Map.of()).waiterRunAsUser());
    assertEquals(
        OptionalLong.of(1000680000L),
        GateConfig.parse(required(), Map.of("MIGRATE_GATE_WAITER_RUN_AS_USER", "1000680000"))
            .waiterRunAsUser());
    assertMessage(
        required("--waiter-run-as-user", "0"),
        "--waiter-run-as-user is '0': give a non-root UID from 1 to 2147483647, or 'platform'");
  }

  @Test
  void theSecurityBoundsHaveTheirDocumentedDefaults() throws Exception {
    GateConfig config = GateConfig.parse(required("--namespace", "gate"), Map.of());

    assertEquals(8444, config.waitPort());
    assertNull(config.admissionClientCa());
    assertEquals(GateConfig.FastPath.AUTO, config.admissionFastPath());
    assertFalse(config.fastPathOn(), "no client CA: no fast path");
    assertEquals(
        new GateConfig.Limits(1024, 256, 8, 10_000, 64, Duration.ofMinutes(5)), config.limits());
  }

  @Test
  void theFastPathIsOnWithAClientCaOrWhenAskedFor() throws Exception {
    Path ca =
        Files.writeString(
            Files.createTempFile("client-ca", ".pem"), ClientCertificates.create("ca").caPem());
    assertTrue(
        GateConfig.parse(required("--admission-client-ca", ca.toString()), Map.of()).fastPathOn());
    assertFalse(
        GateConfig.parse(
                required("--admission-client-ca", ca.toString(), "--admission-fast-path", "off"),
                Map.of())
            .fastPathOn());
    assertTrue(
        GateConfig.parse(
                List.of(),
                Map.of(
                    "MIGRATE_GATE_TLS_CERT_FILE",
                    cert.toString(),
                    "MIGRATE_GATE_TLS_KEY_FILE",
                    key.toString(),
                    "MIGRATE_GATE_WAITER_IMAGE",
                    "w:1",
                    "MIGRATE_GATE_ADMISSION_FAST_PATH",
                    "on"))
            .fastPathOn());
    assertMessage(
        required("--admission-fast-path", "yes"), "--admission-fast-path is 'yes': give auto, on");
    assertMessage(
        required("--admission-client-ca", cert.toString()),
        "--admission-client-ca is '" + cert + "': no PEM certificate in it");
  }

  @Test
  void boundsAreReadAndChecked() throws Exception {
    GateConfig config =
        GateConfig.parse(
            required(
                "--wait-port", "9444",
                "--max-connections", "10",
                "--max-connections-per-client", "3",
                "--max-token-reviews", "2",
                "--token-cache-size", "100",
                "--max-streams-per-service-account", "5",
                "--wait-reauth-interval", "30s"),
            Map.of());
    assertEquals(9444, config.waitPort());
    assertEquals(new GateConfig.Limits(10, 3, 2, 100, 5, Duration.ofSeconds(30)), config.limits());
    assertMessage(
        required("--max-connections", "0"), "--max-connections is '0': give a whole number from 1");
    assertMessage(required("--wait-reauth-interval", "0s"), "give at least 1s");
    assertMessage(
        required("--wait-port", "8443"),
        "--wait-port is 8443, the same as --port: the wait API has a port of its own");
  }

  @Test
  void environmentSetsEverySettingAndFlagsWin() throws Exception {
    Map<String, String> env =
        Map.of(
            "MIGRATE_GATE_PORT", "9443",
            "MIGRATE_GATE_PROBE_PORT", "9090",
            "MIGRATE_GATE_TLS_CERT_FILE", cert.toString(),
            "MIGRATE_GATE_TLS_KEY_FILE", key.toString(),
            "MIGRATE_GATE_WAITER_IMAGE", "from-env:1",
            "MIGRATE_GATE_NAMESPACE", "platform",
            "MIGRATE_GATE_OWNER_LOOKUP_FAILURE_POLICY", "fail-open",
            "MIGRATE_GATE_EXCLUDED_NAMESPACES", "a, b",
            "MIGRATE_GATE_DRAIN_DELAY", "250ms",
            "MIGRATE_GATE_LOG_FORMAT", "json");

    GateConfig fromEnv = GateConfig.parse(List.of(), env);
    GateConfig flagWins = GateConfig.parse(List.of("--port=7443", "--waiter-image", "flag:2"), env);

    assertEquals(9443, fromEnv.port());
    assertEquals(9090, fromEnv.probePort());
    assertEquals("from-env:1", fromEnv.waiterImage());
    assertEquals("platform", fromEnv.namespace());
    assertEquals(FailurePolicy.FAIL_OPEN, fromEnv.ownerLookupFailurePolicy());
    assertEquals(List.of("a", "b"), fromEnv.excludedNamespaces());
    assertEquals(Duration.ofMillis(250), fromEnv.drainDelay());
    assertEquals(GateConfig.LogFormat.JSON, fromEnv.logFormat());
    assertEquals(7443, flagWins.port());
    assertEquals("flag:2", flagWins.waiterImage());
    assertEquals(
        9091,
        GateConfig.parse(
                required("--probe-port", "9090", "--probe-port=9091"),
                Map.of("MIGRATE_GATE_PROBE_PORT", "not-a-port"))
            .probePort(),
        "the last flag wins, and a flag overrides a bad variable");
  }

  @Test
  void badValuesNameTheFlagAndTheFix() {
    assertMessage(required("--port", "http"), "--port is 'http': give a port number");
    assertMessage(
        List.of("--tls-key-file", key.toString(), "--waiter-image", "w"),
        "--tls-cert-file is required: set --tls-cert-file VALUE or the environment variable"
            + " MIGRATE_GATE_TLS_CERT_FILE");
    assertMessage(
        required("--tls-cert-file", "/nonexistent/tls.crt"),
        "--tls-cert-file is '/nonexistent/tls.crt': no readable file there");
    assertMessage(
        required("--owner-lookup-failure-policy", "maybe"),
        "--owner-lookup-failure-policy is 'maybe': give fail-closed or fail-open");
    assertMessage(required("--drain-delay", "5"), "--drain-delay is '5': give a duration like");
    assertMessage(required("--log-format", "xml"), "--log-format is 'xml': give text or json");
    assertMessage(required("--namespace", "Not_A_Name"), "--namespace is 'Not_A_Name'");
    assertMessage(
        required("--waiter-cpu-request", "1", "--waiter-cpu-limit", "500m"),
        "--waiter-cpu-request=1");
    assertMessage(required("--verbose"), "unknown argument '--verbose'");
    assertMessage(
        required("--max-connections", "many"),
        "--max-connections is 'many': give a whole number from 1 to 1000000");
    assertMessage(
        required("--drain-delay", "106751991167d"),
        "--drain-delay is '106751991167d': give a duration like");
    assertMessage(
        required("--wait-reauth-interval", "0s"),
        "--wait-reauth-interval is '0s': give at least 1s");
    assertMessage(required("--port"), "--port needs a value");
  }

  @Test
  void valuesAreTrimmedPathsIncluded() throws Exception {
    GateConfig config =
        GateConfig.parse(
            List.of(
                "--tls-cert-file", " " + cert + " ",
                "--tls-key-file", key + " ",
                "--waiter-image", " waiter:1 "),
            Map.of());
    assertEquals(cert, config.tlsCertFile());
    assertEquals("waiter:1", config.waiterImage());
  }

  @Test
  void aBadEnvironmentVariableIsNamedToo() {
    UsageException error =
        assertThrows(
            UsageException.class,
            () -> GateConfig.parse(required(), Map.of("MIGRATE_GATE_PROBE_PORT", "70000")));
    assertTrue(
        error.getMessage().contains("--probe-port (env MIGRATE_GATE_PROBE_PORT) is '70000'"),
        error.getMessage());
  }

  @Test
  void mainExitsWith64OnABadFlagAndPrintsUsageOnHelp() {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    PrintStream outStream = new PrintStream(out, true, StandardCharsets.UTF_8);
    PrintStream errStream = new PrintStream(err, true, StandardCharsets.UTF_8);

    int bad =
        GateMain.run(
            required("--port", "x").toArray(String[]::new),
            Map.of(),
            outStream,
            errStream,
            Gate::defaultReviewer);
    int help =
        GateMain.run(
            new String[] {"--help"}, Map.of(), outStream, errStream, Gate::defaultReviewer);

    assertEquals(64, bad);
    assertTrue(err.toString(StandardCharsets.UTF_8).startsWith("migrate-gate: --port is 'x'"));
    assertEquals(0, help);
    String usage = out.toString(StandardCharsets.UTF_8);
    for (GateCommandLine.Setting option : GateConfig.settings()) {
      assertTrue(usage.contains(option.flag()) && usage.contains(option.env()), option.flag());
    }
  }

  @Test
  void mainExitsWith1WhenTheCertificateCannotBeServed() {
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int code =
        GateMain.run(
            required("--port", "0", "--probe-port", "0").toArray(String[]::new),
            Map.of(),
            new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8),
            new PrintStream(err, true, StandardCharsets.UTF_8),
            (config, kubernetes, trust) -> (review, entry) -> null);

    assertEquals(1, code);
    String log = err.toString(StandardCharsets.UTF_8);
    assertTrue(log.contains("msg=\"start failed\""), log);
    assertTrue(log.contains("fix --tls-cert-file/--tls-key-file"), log);
  }

  @Test
  void docsListEveryFlagAndVariable() throws Exception {
    Path docs =
        Path.of(System.getProperty("migrategate.projectRoot", ".."))
            .resolve("docs/configuration.md");
    String text = Files.readString(docs);
    for (GateCommandLine.Setting option : GateConfig.settings()) {
      assertTrue(text.contains("`" + option.flag() + "`"), option.flag() + " missing in " + docs);
      assertTrue(text.contains("`" + option.env() + "`"), option.env() + " missing in " + docs);
    }
  }

  private static void assertMessage(List<String> args, String expected) {
    UsageException error =
        assertThrows(UsageException.class, () -> GateConfig.parse(args, Map.of()));
    assertTrue(error.getMessage().contains(expected), error.getMessage());
  }
}
