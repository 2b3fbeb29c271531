package io.migrategate.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.fabric8.kubernetes.api.model.ContainerStatus;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.policy.v1.PodDisruptionBudget;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.migrategate.cluster.BuiltImages;
import io.migrategate.cluster.GateInstall;
import io.migrategate.cluster.LocalCluster;
import io.migrategate.cluster.LocalClusterExtension;
import io.migrategate.cluster.Tools;
import java.io.IOException;
import java.nio.file.Files;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * migrate-gate on real pods, as a platform team installs it (manifests/base, this build's images)
 * and an app team meets it: pods that wait in {@code Init:0/1} while their migration runs, a failed
 * migration in {@code kubectl describe pod} while the old pods keep serving, a Job deleted after
 * its success, the gate restarted under waiting pods, PodSecurity "restricted", direct mode with
 * the README's Role. Every container here is a real process on a real node.
 */
@ExtendWith(LocalClusterExtension.class)
class GatedPodsE2eTest {
  private static final String APP = "shop";
  private static final long WAITER_MEMORY_LIMIT = 96L * 1024 * 1024;

  private static E2eCluster cluster;
  private static GateInstall gate;

  @BeforeAll
  static void installTheGate() {
    cluster = E2eCluster.get();
    cluster.loadImages(List.of(BuiltImages.webhook().archive(), BuiltImages.waiter().archive()));
    Instant start = Instant.now();
    gate = GateInstall.kustomize(cluster.client(), cluster.kubeconfig());
    Figures.record(
        "gate-install-to-serving-kustomize",
        Duration.between(start, Instant.now()).toMillis(),
        "ms");
  }

  @AfterAll
  static void uninstallTheGate() {
    if (gate != null) {
      gate.uninstall();
    }
  }

  @Test
  void theGateRunsAsInstalled() throws IOException {
    GateChecks.assertTwoServingReplicas(gate);
    // The install guide's one-line check, run as a reader would.
    Matcher check =
        Pattern.compile("```sh\n(kubectl create --dry-run=server[^`]*)```")
            .matcher(Files.readString(Tools.projectRoot().resolve("docs/install.md")));
    assertTrue(check.find(), "docs/install.md shows how to check an installation");
    assertEquals(
        "migrate-wait",
        Tools.shell(cluster.kubeconfig(), check.group(1)).requireSuccess().stdout().strip());
    var client = cluster.client();
    for (Pod pod : gate.pods()) {
      var container = pod.getSpec().getContainers().get(0);
      assertEquals(BuiltImages.webhook().reference(), container.getImage());
      assertEquals(65532L, pod.getSpec().getSecurityContext().getRunAsUser());
      assertTrue(container.getSecurityContext().getReadOnlyRootFilesystem());
      // the probes the kubelet runs against the image's real endpoints
      assertEquals("/readyz", container.getReadinessProbe().getHttpGet().getPath());
      ContainerStatus status = pod.getStatus().getContainerStatuses().get(0);
      assertTrue(status.getReady(), "gate container ready: " + status);
      assertEquals(0, status.getRestartCount(), "gate container never restarted: " + status);
      Figures.record(
          "gate-pod-start-to-ready",
          Duration.between(
                  Instant.parse(pod.getStatus().getStartTime()),
                  Instant.parse(
                      pod.getStatus().getConditions().stream()
                          .filter(c -> c.getType().equals("Ready"))
                          .findFirst()
                          .orElseThrow()
                          .getLastTransitionTime()))
              .toMillis(),
          "ms");
    }
    var endpoints =
        client
            .discovery()
            .v1()
            .endpointSlices()
            .inNamespace(gate.namespace())
            .withLabel("kubernetes.io/service-name", gate.name())
            .list()
            .getItems()
            .stream()
            .flatMap(s -> s.getEndpoints().stream())
            .filter(e -> Boolean.TRUE.equals(e.getConditions().getReady()))
            .count();
    assertEquals(2, endpoints, "the Service routes to both replicas");
    PodDisruptionBudget pdb =
        client
            .policy()
            .v1()
            .podDisruptionBudget()
            .inNamespace(gate.namespace())
            .withName(gate.name())
            .get();
    LocalCluster.await(
        "the PodDisruptionBudget to allow one disruption",
        Duration.ofMinutes(1),
        () -> {
          var current =
              client
                  .policy()
                  .v1()
                  .podDisruptionBudget()
                  .inNamespace(gate.namespace())
                  .withName(gate.name())
                  .get();
          return current.getStatus() != null
              && current.getStatus().getCurrentHealthy() == 2
              && current.getStatus().getDisruptionsAllowed() == 1;
        });
    assertEquals(1, pdb.getSpec().getMaxUnavailable().getIntVal());
    assertTrue(
        client
                .network()
                .v1()
                .networkPolicies()
                .inNamespace(gate.namespace())
                .withName(gate.name())
                .get()
            != null,
        "the NetworkPolicy is installed (whether it is enforced is the CNI's business)");
    // The gate logs JSON lines, one per transition.
    String log =
        client
            .pods()
            .inNamespace(gate.namespace())
            .withName(gate.pods().get(0).getMetadata().getName())
            .getLog();
    assertTrue(log.lines().findFirst().orElse("").startsWith("{"), "JSON log lines: " + log);
  }

  @Test
  void theGatesIdentityMayChangeOnlyTheCaBundleOfItsWebhook() {
    GateChecks.assertOnlyTheCaBundleMayChange(cluster, gate);
  }

  @Test
  void podsWaitInInitWhileTheMigrationRunsThenStart() throws Exception {
    try (Scene scene = new Scene(cluster, "e2e-wait")) {
      scene.create(Workloads.job("migrate-v2", "echo migrating; sleep 1; echo done", true));
      scene.deploy(Workloads.app(APP, "v2", 1, Map.of("migrate.io/job", "migrate-v2")));

      Pod waiting = scene.awaitPod(APP, "v2", "waiting in migrate-wait", Workloads::waiterRunning);
      assertTrue(Workloads.injected(waiting));
      assertEquals("injected", waiting.getMetadata().getAnnotations().get("migrate.io/status"));
      assertFalse(Workloads.ready(waiting));
      assertEquals("Init:0/1", kubectlStatus(scene, waiting), "kubectl get pod STATUS");
      // The kubectl plugin's view of the same moment: who waits on what, and the Job's verdict.
      String view = migrateGateStatus(scene);
      String name = waiting.getMetadata().getName();
      assertTrue(
          view.lines()
              .anyMatch(
                  l ->
                      l.matches(
                          "Deployment/"
                              + APP
                              + "\\s+"
                              + Pattern.quote(name)
                              + "\\s+injected\\s+waiting\\s+\\S+\\s+migrate-v2\\s+suspended.*")),
          "kubectl migrate-gate status shows the pod waiting on the suspended Job:\n" + view);

      // The waiter's peak memory, read from its cgroup while it runs (it is gone once it exits).
      String containerId = Workloads.waiter(waiting).orElseThrow().getContainerID();
      AtomicLong peak = new AtomicLong(-1);
      Thread sampler =
          new Thread(
              () -> {
                while (!Thread.currentThread().isInterrupted()) {
                  cluster
                      .peakMemoryBytes(containerId)
                      .ifPresent(v -> peak.accumulateAndGet(v, Math::max));
                  try {
                    Thread.sleep(100); // sampling a gauge, not waiting for a condition
                  } catch (InterruptedException e) {
                    return;
                  }
                }
              },
              "waiter-memory");
      sampler.start();
      try {
        scene.resume("migrate-v2");
        scene.awaitJobCondition("migrate-v2", "Complete");
        Pod started = scene.awaitPod(APP, "v2", "Ready", Workloads::ready);
        ContainerStatus waiter = Workloads.waiter(started).orElseThrow();
        assertEquals(0, waiter.getState().getTerminated().getExitCode(), waiter.toString());
        assertEquals("Completed", waiter.getState().getTerminated().getReason());
        assertEquals(0, waiter.getRestartCount());
      } finally {
        sampler.interrupt();
        sampler.join();
      }
      if (peak.get() > 0) {
        Figures.record("waiter-peak-memory", peak.get() / 1024.0 / 1024.0, "MiB");
        assertTrue(
            peak.get() < WAITER_MEMORY_LIMIT,
            "the waiter stays under its limit: peak " + peak.get() + " bytes");
      }
    }
  }

  @Test
  void aFailedMigrationStopsTheNewPodsLoudlyWhileTheOldOnesServe() throws IOException {
    try (Scene scene = new Scene(cluster, "e2e-fail")) {
      scene.create(
          new ServiceBuilder()
              .withNewMetadata()
              .withName(APP)
              .endMetadata()
              .withNewSpec()
              .withSelector(Map.of("app", APP))
              .addNewPort()
              .withPort(8080)
              .endPort()
              .endSpec()
              .build());
      scene.create(Workloads.job("migrate-v1", "echo v1 schema", false));
      scene.awaitJobCondition("migrate-v1", "Complete");
      scene.deploy(Workloads.app(APP, "v1", 1, Map.of("migrate.io/job", "migrate-v1")));
      Pod v1 = scene.awaitPod(APP, "v1", "Ready", Workloads::ready);
      assertEquals("v1", scene.fetch("http://" + APP + "." + scene.namespace + ".svc:8080/"));

      scene.create(
          Workloads.job(
              "migrate-v2", "echo 'ERROR: column users.email already exists' >&2; exit 1", false));
      scene.deploy(Workloads.app(APP, "v2", 1, Map.of("migrate.io/job", "migrate-v2")));
      Pod failed =
          scene.awaitPod(
              APP,
              "v2",
              "with migrate-wait terminated by the failed migration",
              p ->
                  Workloads.waiter(p)
                      .map(
                          s ->
                              (s.getState().getTerminated() != null
                                      && s.getState().getTerminated().getExitCode() != 0)
                                  || (s.getLastState() != null
                                      && s.getLastState().getTerminated() != null))
                      .orElse(false));
      String expected =
          "job "
              + scene.namespace
              + "/migrate-v2 failed: BackoffLimitExceeded: Job has reached the specified backoff"
              + " limit";
      ContainerStatus waiter = Workloads.waiter(failed).orElseThrow();
      var terminated =
          waiter.getState().getTerminated() != null
              ? waiter.getState().getTerminated()
              : waiter.getLastState().getTerminated();
      assertEquals(2, terminated.getExitCode(), waiter.toString());
      assertEquals(expected, terminated.getMessage().strip(), "the kubelet's termination message");
      String describe = scene.describe(failed);
      assertTrue(
          describe.contains(expected), "kubectl describe pod shows the reason:\n" + describe);
      String status = kubectlStatus(scene, failed);
      assertTrue(
          status.equals("Init:Error") || status.equals("Init:CrashLoopBackOff"),
          "kubectl get pod STATUS: " + status);

      // kubectl migrate-gate status -o json: the failed pod, its Job's verdict, the released v1
      // pod.
      JsonNode items =
          new ObjectMapper().readTree(migrateGateStatus(scene, "-o", "json")).path("items");
      JsonNode failedItem = item(items, failed.getMetadata().getName());
      assertTrue(
          failedItem.path("state").asText().startsWith("failed (exit 2)"), failedItem.toString());
      assertEquals("failed", failedItem.path("jobs").get(0).path("phase").asText());
      assertTrue(
          failedItem.path("jobs").get(0).path("verdict").asText().contains("BackoffLimitExceeded"),
          failedItem.toString());
      JsonNode releasedItem = item(items, v1.getMetadata().getName());
      assertEquals("released", releasedItem.path("state").asText(), releasedItem.toString());
      assertEquals("succeeded", releasedItem.path("jobs").get(0).path("phase").asText());

      Pod oldPod = scene.refresh(v1);
      assertTrue(Workloads.ready(oldPod), "the old pod is still ready");
      assertEquals("v1", scene.fetch("http://" + APP + ":8080/"), "the old version still serves");
    }
  }

  /**
   * The shipped gate has no client certificate from the API server, so its fast path is off
   * (docs/security.md, threat 1): the new pods get migrate-wait, which passes at once on the gate's
   * success ledger although the Job is gone.
   */
  @Test
  void aJobDeletedAfterItsSuccessLetsNewPodsStartOnTheGatesLedger() {
    try (Scene scene = new Scene(cluster, "e2e-hook")) {
      // A Helm pre-upgrade hook with hook-delete-policy: hook-succeeded: the Job is gone before
      // the Deployment's new pods are created.
      scene.create(Workloads.job("migrate-v4", "echo v4 schema", false));
      scene.awaitJobCondition("migrate-v4", "Complete");
      scene.deleteJob("migrate-v4");

      scene.deploy(Workloads.app(APP, "v4", 2, Map.of("migrate.io/job", "migrate-v4")));
      LocalCluster.await(
          "both v4 pods Ready",
          Scene.POD_START,
          () -> scene.pods(APP, "v4").stream().filter(Workloads::ready).count() == 2);
      for (Pod pod : scene.pods(APP, "v4")) {
        assertEquals("injected", pod.getMetadata().getAnnotations().get("migrate.io/status"));
        String log =
            scene
                .client
                .pods()
                .inNamespace(scene.namespace)
                .withName(pod.getMetadata().getName())
                .inContainer("migrate-wait")
                .getLog();
        assertTrue(
            log.contains("recorded by the gate") && log.contains("the Job was deleted since"),
            "migrate-wait passed on the gate's ledger:\n" + log);
      }
    }
  }

  @Test
  void waitersRideOutTheGateRestartingUnderThem() throws Exception {
    try (Scene scene = new Scene(cluster, "e2e-restart")) {
      scene.create(Workloads.job("migrate-v3", "echo v3 schema", true));
      scene.deploy(Workloads.app(APP, "v3", 1, Map.of("migrate.io/job", "migrate-v3")));
      Pod waiting = scene.awaitPod(APP, "v3", "waiting in migrate-wait", Workloads::waiterRunning);

      Set<String> before =
          gate.pods().stream().map(p -> p.getMetadata().getName()).collect(Collectors.toSet());
      cluster
          .client()
          .pods()
          .inNamespace(gate.namespace())
          .withLabel("app.kubernetes.io/component", "webhook")
          .delete();
      LocalCluster.await(
          "two new gate pods Ready",
          Duration.ofMinutes(3),
          () -> {
            List<Pod> pods = gate.pods();
            return pods.size() == 2
                && pods.stream().noneMatch(p -> before.contains(p.getMetadata().getName()))
                && pods.stream().allMatch(Workloads::ready);
          });
      scene.resume("migrate-v3");
      Pod started = scene.awaitPod(APP, "v3", "Ready", Workloads::ready);
      assertEquals(waiting.getMetadata().getName(), started.getMetadata().getName());
      ContainerStatus waiter = Workloads.waiter(started).orElseThrow();
      assertEquals(0, waiter.getState().getTerminated().getExitCode());
      assertEquals(0, waiter.getRestartCount(), "the waiter rode the outage out without a restart");
      String log =
          scene
              .client
              .pods()
              .inNamespace(scene.namespace)
              .withName(started.getMetadata().getName())
              .inContainer(Workloads.WAITER)
              .getLog();
      assertTrue(
          log.contains("stopping") || log.contains("connection_lost") || log.contains("gate"),
          "the waiter said the gate went away:\n" + log);
    }
  }

  @Test
  void theInjectedWaiterPassesPodSecurityRestrictedWhereAPrivilegedPodDoesNot() {
    try (Scene scene = new Scene(cluster, "e2e-psa")) {
      scene.create(Workloads.job("migrate", "echo schema", true));
      scene.deploy(Workloads.app(APP, "v1", 1, Map.of("migrate.io/job", "migrate")));
      Pod pod = scene.awaitPod(APP, "v1", "waiting in migrate-wait", Workloads::waiterRunning);
      var waiter =
          pod.getSpec().getInitContainers().stream()
              .filter(c -> c.getName().equals(Workloads.WAITER))
              .findFirst()
              .orElseThrow();
      assertTrue(waiter.getSecurityContext().getReadOnlyRootFilesystem());
      assertFalse(waiter.getSecurityContext().getAllowPrivilegeEscalation());

      Pod privileged = Workloads.fetcher("http://example.invalid/");
      var security = privileged.getSpec().getContainers().get(0).getSecurityContext();
      security.setAllowPrivilegeEscalation(null);
      security.setPrivileged(true);
      KubernetesClientException denied =
          assertThrows(KubernetesClientException.class, () -> scene.create(privileged));
      assertTrue(
          denied.getMessage().contains("violates PodSecurity \"restricted"), denied.getMessage());
      scene.resume("migrate");
      scene.awaitPod(APP, "v1", "Ready", Workloads::ready);
    }
  }

  @Test
  void directModeWorksWithTheReadmeRoleAndSaysWhatIsMissingWithoutIt() throws IOException {
    String role = readmeRole();
    try (Scene scene = new Scene(cluster, "e2e-direct")) {
      scene.create(
          new io.fabric8.kubernetes.api.model.ServiceAccountBuilder()
              .withNewMetadata()
              .withName("app")
              .endMetadata()
              .build());
      Tools.kubectl(
              cluster.kubeconfig(),
              "apply",
              "-f",
              writeTemp(role.replace("namespace: shop", "namespace: " + scene.namespace)))
          .requireSuccess();
      scene.create(Workloads.job("db-migrate", "echo schema", true));
      scene.deploy(
          direct(
              Workloads.app(
                  APP,
                  "v1",
                  1,
                  Map.of("migrate.io/job", "db-migrate", "migrate.io/source", "api"))));
      scene.awaitPod(APP, "v1", "waiting in migrate-wait", Workloads::waiterRunning);
      scene.resume("db-migrate");
      Pod started = scene.awaitPod(APP, "v1", "Ready", Workloads::ready);
      assertEquals(
          0, Workloads.waiter(started).orElseThrow().getState().getTerminated().getExitCode());
    }
    try (Scene scene = new Scene(cluster, "e2e-norole")) {
      scene.create(
          new io.fabric8.kubernetes.api.model.ServiceAccountBuilder()
              .withNewMetadata()
              .withName("app")
              .endMetadata()
              .build());
      scene.create(Workloads.job("db-migrate", "echo schema", true));
      scene.deploy(
          direct(
              Workloads.app(
                  APP,
                  "v1",
                  1,
                  Map.of("migrate.io/job", "db-migrate", "migrate.io/source", "api"))));
      Pod denied =
          scene.awaitPod(
              APP,
              "v1",
              "with migrate-wait denied",
              p ->
                  Workloads.waiter(p)
                      .map(s -> terminatedMessage(s).contains("not permitted"))
                      .orElse(false));
      ContainerStatus waiter = Workloads.waiter(denied).orElseThrow();
      String message = terminatedMessage(waiter);
      assertTrue(
          message.startsWith(
              "not permitted: ServiceAccount "
                  + scene.namespace
                  + "/app cannot get jobs.batch \"db-migrate\""),
          message);
    }
  }

  private static Deployment direct(Deployment app) {
    app.getSpec().getTemplate().getSpec().setServiceAccountName("app");
    return app;
  }

  private static String terminatedMessage(ContainerStatus status) {
    var terminated =
        status.getState() != null && status.getState().getTerminated() != null
            ? status.getState().getTerminated()
            : status.getLastState() == null ? null : status.getLastState().getTerminated();
    return terminated == null || terminated.getMessage() == null ? "" : terminated.getMessage();
  }

  /**
   * {@code kubectl migrate-gate status -n <scene>} as a user runs it: the repository's bin/ on the
   * PATH (the plugin finds the gate's jar this build packaged), this build's kubectl.
   */
  private static String migrateGateStatus(Scene scene, String... more) {
    String script =
        "PATH=\""
            + Tools.projectRoot().resolve("bin")
            + ":$PATH\" kubectl migrate-gate status -n "
            + scene.namespace
            + " "
            + String.join(" ", more);
    return Tools.shell(cluster.kubeconfig(), script).requireSuccess().stdout();
  }

  private static JsonNode item(JsonNode items, String pod) {
    for (JsonNode item : items) {
      if (item.path("pod").asText().equals(pod)) {
        return item;
      }
    }
    throw new AssertionError(
        "kubectl migrate-gate status -o json lists no pod " + pod + ": " + items);
  }

  /** The STATUS column of {@code kubectl get pod}. */
  private static String kubectlStatus(Scene scene, Pod pod) {
    String line =
        Tools.kubectl(
                cluster.kubeconfig(),
                "-n",
                scene.namespace,
                "get",
                "pod",
                pod.getMetadata().getName(),
                "--no-headers")
            .requireSuccess()
            .stdout()
            .strip();
    return line.split("\\s+")[2];
  }

  /** The Role and RoleBinding of README.md's "Direct mode" section, as a user copies them. */
  private static String readmeRole() throws IOException {
    String readme = Files.readString(Tools.projectRoot().resolve("README.md"));
    int section = readme.indexOf("## Direct mode");
    int start = readme.indexOf("```yaml\n", section) + "```yaml\n".length();
    int end = readme.indexOf("```", start);
    assertNotEquals(-1, section, "README.md has its Direct mode section");
    return readme.substring(start, end);
  }

  private static String writeTemp(String content) throws IOException {
    var file = Files.createTempFile("e2e-", ".yaml");
    Files.writeString(file, content);
    file.toFile().deleteOnExit();
    return file.toString();
  }
}
