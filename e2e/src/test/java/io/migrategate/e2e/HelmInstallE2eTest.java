package io.migrategate.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import io.fabric8.kubernetes.api.model.Pod;
import io.migrategate.cluster.BuiltImages;
import io.migrategate.cluster.GateInstall;
import io.migrategate.cluster.LocalClusterExtension;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The Helm chart installs the same gate: {@code helm install --wait} with this build's images, as a
 * release of another name in another namespace than the defaults (release {@code gate} in {@code
 * platform-helm}: objects named {@code gate-migrate-gate}), both replicas serving, a gated rollout
 * on real pods whose waiters find that Service, the CA-bundle-only policy holding the gate's
 * identity there; {@code helm uninstall} leaves no gate.
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
    try {
      assertEquals("gate-migrate-gate", gate.name());
      GateChecks.assertTwoServingReplicas(gate);
      GateChecks.assertPodsWaitForTheirMigration(cluster, gate, "e2e-helm");
      GateChecks.assertOnlyTheCaBundleMayChange(cluster, gate);
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
    } finally {
      gate.uninstall();
    }
  }
}
