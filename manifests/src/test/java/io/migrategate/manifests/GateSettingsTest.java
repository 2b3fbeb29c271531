package io.migrategate.manifests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.migrategate.certs.CertificateAuthority;
import io.migrategate.gate.GateConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The settings the manifests give the gate are settings the gate reads ({@link GateConfig}'s
 * environment variables) and accepts (its own parser), and they agree with the Deployment around
 * them (ports, termination grace).
 */
class GateSettingsTest {
  /**
   * Settings the manifests pass ahead of the gate reading them: none. Kept so that such a
   * transition stays visible; the test fails when a name listed here becomes known.
   */
  static final Set<String> NOT_YET_READ = Set.of();

  private static Tools tools;

  @BeforeAll
  static void tools() {
    tools = Tools.get();
  }

  static Stream<Arguments> renderings() {
    Tools tools = Tools.get();
    return Stream.of(
            Rendered.kustomize(tools, "base"),
            Rendered.kustomize(tools, "overlays/cert-manager"),
            Rendered.helm(tools, "migrate-gate", "migrate-gate"),
            Rendered.helm(tools, "migrate-gate", "migrate-gate", "--set", "tls.mode=cert-manager"),
            Rendered.helm(tools, "migrate-gate", "migrate-gate", "--set", "runAsUser=null"),
            Rendered.helm(
                tools,
                "migrate-gate",
                "migrate-gate",
                "--set",
                "extraArgs={--audit-interval=10m,--waiter-run-as-user=1000}"),
            Rendered.helm(
                tools,
                "migrate-gate",
                "migrate-gate",
                "--set",
                "excludedNamespaces={legacy},ownerLookup.failurePolicy=fail-open,logFormat=text",
                "--set",
                "waiterResources.requests.cpu=20m,waiterResources.requests.memory=32Mi",
                "--set",
                "waiterResources.limits.cpu=1,waiterResources.limits.memory=128Mi",
                "--set",
                "drainDelaySeconds=8,shutdownTimeoutSeconds=20,ports.webhook=9443,ports.probes=9080",
                "--set",
                "ports.wait=9444,admission.fastPath=off,limits.maxConnections=2048",
                "--set",
                "limits.maxStreamsPerServiceAccount=128,limits.waitReauthInterval=2m"))
        .map(Arguments::of);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("renderings")
  void everySettingIsOneTheGateReadsAndAccepts(Rendered rendered, @TempDir Path files)
      throws Exception {
    Map<String, String> env = new LinkedHashMap<>(RenderTest.podEnv(rendered));
    Set<String> known =
        GateConfig.settings().stream()
            .map(o -> o.env())
            .collect(Collectors.toCollection(TreeSet::new));

    Set<String> stale = new TreeSet<>(NOT_YET_READ);
    stale.retainAll(known);
    assertEquals(Set.of(), stale, "the gate reads these now: remove them from NOT_YET_READ");
    Set<String> unknown = new TreeSet<>(env.keySet());
    unknown.removeAll(known);
    unknown.removeAll(NOT_YET_READ);
    assertEquals(Set.of(), unknown, rendered + " sets variables the gate does not read");

    // The gate's own parser on the same values, as the kubelet hands them over (the namespace
    // from the downward API, $(VAR) references expanded), with readable certificate files.
    Path certificate = Files.writeString(files.resolve("tls.crt"), "");
    Path key = Files.writeString(files.resolve("tls.key"), "");
    env.put("MIGRATE_GATE_TLS_CERT_FILE", certificate.toString());
    env.put("MIGRATE_GATE_TLS_KEY_FILE", key.toString());
    if (env.containsKey("MIGRATE_GATE_WAIT_CA_FILE")) {
      assertEquals(
          "/etc/migrate-gate/tls/ca.crt",
          env.get("MIGRATE_GATE_WAIT_CA_FILE"),
          "the CA next to the mounted certificate");
      String ca = CertificateAuthority.generate("test-ca", Duration.ofDays(1)).certificatePem();
      env.put(
          "MIGRATE_GATE_WAIT_CA_FILE", Files.writeString(files.resolve("ca.crt"), ca).toString());
    }
    // The container's args (Helm extraArgs) are flags after the environment.
    GateConfig config =
        GateConfig.parse(Rendered.texts(RenderTest.container(rendered).path("args")), env);

    JsonNode container = RenderTest.container(rendered);
    Map<String, Integer> ports = new LinkedHashMap<>();
    Rendered.elements(container.path("ports"))
        .forEach(p -> ports.put(p.path("name").asText(), p.path("containerPort").asInt()));
    assertEquals(ports.get("webhook"), config.port(), "the gate listens where the Service sends");
    assertEquals(ports.get("wait"), config.waitPort(), "the wait API listens where waiters call");
    ObjectNode service = rendered.one("Service");
    for (JsonNode port : Rendered.elements(service.path("spec").path("ports"))) {
      assertTrue(
          ports.containsKey(port.path("targetPort").asText()),
          "the Service's " + port.path("name").asText() + " port targets a container port");
    }
    assertEquals(ports.get("probes"), config.probePort(), "the gate answers probes where asked");
    long grace =
        rendered
            .one("Deployment")
            .path("spec")
            .path("template")
            .path("spec")
            .path("terminationGracePeriodSeconds")
            .asLong();
    assertTrue(
        config.drainDelay().plus(config.shutdownTimeout()).toSeconds() + 5 <= grace,
        "terminationGracePeriodSeconds "
            + grace
            + " covers the drain "
            + config.drainDelay()
            + " and the shutdown "
            + config.shutdownTimeout());
    assertTrue(
        config.excludedNamespaces().stream()
            .allMatch(
                n ->
                    RenderTest.webhooks(rendered).stream()
                        .allMatch(w -> RenderTest.excludedNames(w).contains(n))),
        "namespaces the gate excludes are never sent to it either");
    if (env.containsKey("MIGRATE_GATE_WAITER_CPU_REQUEST")) {
      assertEquals("20m", config.waiterResources().requestsCpu());
      assertEquals("128Mi", config.waiterResources().limitsMemory());
    }
  }
}
