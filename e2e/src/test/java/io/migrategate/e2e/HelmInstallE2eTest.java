package io.migrategate.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fabric8.kubernetes.api.model.Pod;
import io.migrategate.cluster.BuiltImages;
import io.migrategate.cluster.GateInstall;
import io.migrategate.cluster.LocalCluster;
import io.migrategate.cluster.LocalClusterExtension;
import io.migrategate.cluster.Tools;
import java.time.Duration;
import java.time.Instant;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The Helm chart installs the same gate: {@code helm install --wait} with this build's images, as a
 * release of another name in another namespace than the defaults (release {@code gate} in {@code
 * platform-helm}: objects named {@code gate-migrate-gate}), both replicas serving, a gated rollout
 * on real pods whose waiters find that Service, {@code helm test} passing, the CA-bundle-only
 * policy holding the gate's identity there; {@code helm uninstall} leaves no gate.
 *
 * <p>Then {@code helm upgrade} replaces both gate pods while annotated pods are created one after
 * another: none fails, and a pod waiting in migrate-wait keeps waiting through it. Last, {@code
 * helm uninstall} while pods are still being created: its pre-delete hook removes the webhook
 * configuration first, so none is rejected.
 *
 * <p>Installed with {@code admission.fastPath: "on"}, as a platform team does whose API server
 * cannot present a client certificate but who restrict the admission port otherwise
 * (docs/security.md, threat 1): a Helm hook Job that succeeded and was deleted before the rollout
 * lets the new pods start with nothing injected.
 */
@ExtendWith(LocalClusterExtension.class)
class HelmInstallE2eTest {

  @Test
  void theChartInstallsAGateThatHoldsPodsUntilTheirMigrationSucceeded() {
    E2eCluster cluster = E2eCluster.get();
    cluster.loadImages(List.of(BuiltImages.webhook().archive(), BuiltImages.waiter().archive()));
    Instant start = Instant.now();
    GateInstall gate =
        GateInstall.helm(
            cluster.client(),
            cluster.kubeconfig(),
            "platform-helm",
            "gate",
            "--set-string",
            "admission.fastPath=on");
    Figures.record(
        "gate-install-to-serving-helm", Duration.between(start, Instant.now()).toMillis(), "ms");
    boolean uninstalled = false;
    try {
      assertEquals("gate-migrate-gate", gate.name());
      GateChecks.assertTwoServingReplicas(gate);
      // The one-step check a platform team runs after installing.
      Tools.Result test =
          Tools.helm(
              cluster.kubeconfig(),
              "test",
              "gate",
              "--namespace",
              "platform-helm",
              "--logs",
              "--timeout",
              "2m");
      test.requireSuccess();
      assertTrue(test.stdout().contains("migrate-gate check: ok"), test.stdout());
      GateChecks.assertPodsWaitForTheirMigration(cluster, gate, "e2e-helm");
      GateChecks.assertOnlyTheCaBundleMayChange(cluster, gate);
      anUpgradeRollsTheGateWithoutAFailedAdmission(cluster, gate);
      try (Scene scene = new Scene(cluster, "e2e-helm-hook")) {
        // A Helm pre-upgrade hook with hook-delete-policy: hook-succeeded: gone before the rollout.
        scene.create(Workloads.job("migrate-v2", "echo v2 schema", false));
        scene.awaitJobCondition("migrate-v2", "Complete");
        scene.deleteJob("migrate-v2");
        scene.deploy(Workloads.app("shop", "v2", 1, Map.of("migrate.io/job", "migrate-v2")));
        Pod v2 = scene.awaitPod("shop", "v2", "Ready", Workloads::ready);
        assertFalse(
            Workloads.injected(v2), "nothing injected: " + v2.getSpec().getInitContainers());
        assertEquals(
            "skipped: job-succeeded", v2.getMetadata().getAnnotations().get("migrate.io/status"));
      }

      // helm uninstall: its pre-delete hook deletes the webhook configuration before Helm
      // deletes the gate, so no annotated pod is rejected on the way (afterwards they are
      // admitted as they are: there is no gate).
      AtomicReference<GateChecks.Admissions> admissions = new AtomicReference<>();
      GateChecks.Deletions deletions =
          GateChecks.deletionsDuring(
              cluster,
              gate,
              () -> admissions.set(GateChecks.admissionsDuring(cluster, gate::uninstall)));
      uninstalled = true;
      Figures.record("gate-uninstall-admissions", admissions.get().attempts(), "pods");
      Figures.record(
          "gate-uninstall-rejected-admissions", admissions.get().rejected().size(), "pods");
      // The order is what keeps pods from being rejected; on this one-node cluster Helm deletes
      // everything within a fraction of a second, too fast for the pods below to show it alone.
      Instant configurationGone = deletions.webhookConfiguration().orElseThrow();
      Instant serviceGone = deletions.service().orElseThrow();
      Figures.record(
          "gate-uninstall-webhook-configuration-before-service",
          Duration.between(configurationGone, serviceGone).toMillis(),
          "ms");
      assertTrue(
          configurationGone.isBefore(serviceGone),
          "the webhook configuration went first: " + deletions);
      assertEquals(
          List.of(), admissions.get().rejected(), "pods rejected while helm uninstall ran");
      assertTrue(
          admissions.get().attempts() >= 10,
          "pods created all along: " + admissions.get().attempts());
    } finally {
      if (!uninstalled) {
        gate.uninstall();
      }
    }
  }

  /**
   * {@code helm upgrade} that replaces both gate pods (a new pod annotation, as a new image tag
   * would): annotated pods created all along are each admitted with migrate-wait, and a pod that
   * waited before the upgrade still waits after it and starts once its migration succeeded.
   */
  private static void anUpgradeRollsTheGateWithoutAFailedAdmission(
      E2eCluster cluster, GateInstall gate) {
    try (Scene scene = new Scene(cluster, "e2e-helm-upgrade")) {
      scene.create(Workloads.job("migrate", "echo schema", true));
      scene.deploy(Workloads.app("shop", "v1", 1, Map.of("migrate.io/job", "migrate")));
      scene.awaitPod("shop", "v1", "waiting in migrate-wait", Workloads::waiterRunning);
      Set<String> before =
          gate.pods().stream().map(p -> p.getMetadata().getName()).collect(Collectors.toSet());

      Instant start = Instant.now();
      GateChecks.Admissions admissions =
          GateChecks.admissionsDuring(
              cluster,
              () -> gate.upgrade("--set-string", "podAnnotations.rolled=" + start.toEpochMilli()));
      Figures.record(
          "gate-upgrade-duration", Duration.between(start, Instant.now()).toMillis(), "ms");
      Figures.record("gate-upgrade-admissions", admissions.attempts(), "pods");
      Figures.record("gate-upgrade-failed-admissions", admissions.failures().size(), "pods");

      assertEquals(List.of(), admissions.failures(), "admissions that failed during the upgrade");
      LocalCluster.await(
          "both gate pods from before the upgrade gone (replaced)",
          Duration.ofMinutes(1),
          () ->
              intersection(
                      before,
                      gate.pods().stream()
                          .map(p -> p.getMetadata().getName())
                          .collect(Collectors.toSet()))
                  .isEmpty());
      assertTrue(
          admissions.attempts() >= 20,
          "pods were created all through the upgrade: " + admissions.attempts());

      scene.awaitPod("shop", "v1", "still waiting in migrate-wait", Workloads::waiterRunning);
      scene.resume("migrate");
      scene.awaitPod("shop", "v1", "Ready", Workloads::ready);
    }
  }

  private static Set<String> intersection(Set<String> a, Set<String> b) {
    Set<String> both = new HashSet<>(a);
    both.retainAll(b);
    return both;
  }
}
