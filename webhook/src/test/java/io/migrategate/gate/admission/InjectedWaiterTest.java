package io.migrategate.gate.admission;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The rule that tells the gate's {@code migrate-wait} from any other container of that name. */
class InjectedWaiterTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String IMAGE = "registry.example/migrate-gate-waiter:0.1.0";
  private static final InjectionConfig DIRECT = InjectionConfig.defaults(IMAGE, "migrate-gate");

  /** A direct-mode pod of namespace shop as stored, with the gate's waiter on its SA volume. */
  private static ObjectNode storedDirectModePod() throws Exception {
    ObjectNode pod =
        (ObjectNode)
            JSON.readTree(
                """
                {"metadata": {"name": "web-1", "namespace": "shop"},
                 "spec": {"containers": [{"name": "app", "image": "registry.example/web:1"}],
                          "volumes": [{"name": "kube-api-access-x1", "projected": {"sources": []}}]}}
                """);
    WaitSpec spec =
        new WaitSpec(
            JobReference.parse("migrate"),
            Optional.of("42"),
            Optional.empty(),
            "pod",
            Optional.empty(),
            Optional.empty());
    ObjectNode waiter =
        WaiterContainer.container(DIRECT, spec, "shop", new PodView(pod), "kube-api-access-x1");
    waiter.put("imagePullPolicy", "IfNotPresent");
    ((ObjectNode) pod.path("spec")).putArray("initContainers").add(waiter);
    return pod;
  }

  private static ObjectNode waiter(JsonNode pod) {
    return (ObjectNode) pod.path("spec").path("initContainers").path(0);
  }

  @Test
  void theAuditAcceptsTheGatesWaiterOfAnyModeAndTag() throws Exception {
    ObjectNode pod = storedDirectModePod();
    assertEquals(
        List.of(),
        InjectedWaiter.auditDifferences(
            new PodView(pod),
            "shop",
            Optional.of(new InjectedWaiter.Identity(IMAGE, Optional.empty()))));
    waiter(pod).put("image", "registry.example/migrate-gate-waiter@sha256:" + "ab".repeat(32));
    assertEquals(
        List.of(),
        InjectedWaiter.auditDifferences(
            new PodView(pod),
            "shop",
            Optional.of(new InjectedWaiter.Identity(IMAGE, Optional.of("https://gate.example")))));
  }

  /**
   * A reinvocation brings the gate's own waiter back as the API server encoded it: its numbers
   * parse as ints where the gate built longs. Found by GateWaitClusterTest on a real API server.
   */
  @Test
  void theGatesWaiterDecodedAgainByTheApiServerIsStillTheGates() throws Exception {
    ObjectNode built = storedDirectModePod();
    ObjectNode decodedAgain = (ObjectNode) JSON.readTree(JSON.writeValueAsString(built));
    assertTrue(
        waiter(decodedAgain).path("securityContext").path("runAsUser").isInt(),
        "re-read as an int");
    JsonNode expected = waiter(built);
    assertEquals(
        List.of(), InjectedWaiter.differences(new PodView(decodedAgain), expected), "re-decoded");
    ((ObjectNode) waiter(decodedAgain).path("securityContext")).put("runAsUser", 0);
    assertEquals(
        List.of("securityContext.runAsUser is 0 (the gate sets 65532)"),
        InjectedWaiter.differences(new PodView(decodedAgain), expected));
  }

  @Test
  void whatCouldChangeTheVerdictIsNeverTolerated() throws Exception {
    Optional<InjectedWaiter.Identity> identity =
        Optional.of(new InjectedWaiter.Identity(IMAGE, Optional.empty()));
    ObjectNode overlay = storedDirectModePod();
    waiter(overlay)
        .withArray("volumeMounts")
        .addObject()
        .put("name", "code")
        .put("mountPath", "/app");
    ObjectNode preload = storedDirectModePod();
    waiter(preload).withArray("env").addObject().put("name", "LD_PRELOAD").put("value", "/x.so");
    ObjectNode otherNamespace = storedDirectModePod();
    ((ObjectNode) waiter(otherNamespace).path("env").path(0)).put("value", "other");
    ObjectNode apiServer = storedDirectModePod();
    waiter(apiServer)
        .withArray("env")
        .addObject()
        .put("name", "KUBERNETES_SERVICE_HOST")
        .put("value", "10.0.0.66");
    ObjectNode envFrom = storedDirectModePod();
    waiter(envFrom).putArray("envFrom").addObject().putObject("configMapRef").put("name", "x");
    for (ObjectNode pod : List.of(overlay, preload, otherNamespace, apiServer, envFrom)) {
      List<String> differences =
          InjectedWaiter.auditDifferences(new PodView(pod), "shop", identity);
      assertEquals(1, differences.size(), differences.toString());
    }
    // Another webhook's variable is not the waiter's business.
    ObjectNode proxy = storedDirectModePod();
    waiter(proxy).withArray("env").addObject().put("name", "HTTPS_PROXY").put("value", "http://p");
    assertTrue(InjectedWaiter.auditDifferences(new PodView(proxy), "shop", identity).isEmpty());
  }

  @Test
  void repositoryDropsTagAndDigestButNotARegistryPort() {
    assertEquals(
        "registry:5000/team/waiter", InjectedWaiter.repository("registry:5000/team/waiter"));
    assertEquals(
        "registry:5000/team/waiter", InjectedWaiter.repository("registry:5000/team/waiter:1.2"));
    assertEquals(
        "ghcr.io/migrate-gate/waiter",
        InjectedWaiter.repository("ghcr.io/migrate-gate/waiter:0.1.0@sha256:" + "cd".repeat(32)));
  }

  @Test
  void onlyAHostNameNeedsTheClusterDns() throws Exception {
    String ca = java.nio.file.Files.readString(GoldenAdmissionTest.GOLDEN.resolve("gate-ca.pem"));
    assertTrue(new WaitEndpoint("https://migrate-gate.migrate-gate.svc", ca).hostIsName());
    assertFalse(new WaitEndpoint("https://127.0.0.1:8443", ca).hostIsName());
    assertFalse(new WaitEndpoint("https://[fd00::1]:8443", ca).hostIsName());
  }
}
