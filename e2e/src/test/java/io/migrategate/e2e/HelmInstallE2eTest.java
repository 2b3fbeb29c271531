package io.migrategate.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.fabric8.kubernetes.api.model.ContainerStatus;
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
 * The Helm chart installs the same gate: {@code helm install --wait} with this build's images, both
 * replicas serving, and a gated rollout on real pods; {@code helm uninstall} leaves no gate.
 */
@ExtendWith(LocalClusterExtension.class)
class HelmInstallE2eTest {

  @Test
  void theChartInstallsAGateThatHoldsPodsUntilTheirMigrationSucceeded() {
    E2eCluster cluster = E2eCluster.get();
    cluster.loadImages(List.of(BuiltImages.webhook().archive(), BuiltImages.waiter().archive()));
    Instant start = Instant.now();
    GateInstall gate = GateInstall.helm(cluster.client(), cluster.kubeconfig());
    Figures.record(
        "gate-install-to-serving-helm", Duration.between(start, Instant.now()).toMillis(), "ms");
    try {
      GateChecks.assertTwoServingReplicas(cluster);
      try (Scene scene = new Scene(cluster, "e2e-helm")) {
        scene.create(Workloads.job("migrate", "echo schema", true));
        scene.deploy(Workloads.app("shop", "v1", 1, Map.of("migrate.io/job", "migrate")));
        scene.awaitPod("shop", "v1", "waiting in migrate-wait", Workloads::waiterRunning);
        scene.resume("migrate");
        Pod started = scene.awaitPod("shop", "v1", "Ready", Workloads::ready);
        ContainerStatus waiter = Workloads.waiter(started).orElseThrow();
        assertEquals(0, waiter.getState().getTerminated().getExitCode(), waiter.toString());
      }
    } finally {
      gate.uninstall();
    }
  }
}
