package io.migrategate.e2e;

import io.migrategate.cluster.BuiltImages;
import io.migrategate.cluster.GateInstall;
import io.migrategate.cluster.LocalClusterExtension;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * manifests/base moved by a platform team's overlay ({@code namespace: platform-gate}, {@code
 * nameSuffix: -blue}) and nothing else: the gate comes up serving, waiters injected into app pods
 * reach it at its moved Service ({@code migrate-gate-blue.platform-gate.svc}) and let the pods
 * start once their migration succeeded, and the CA-bundle-only policy still holds the gate's moved
 * identity. Before the base taught kustomize its references, such an install left every waiter
 * calling {@code migrate-gate.migrate-gate.svc} and annotated pods in {@code Init:0/1} forever.
 */
@ExtendWith(LocalClusterExtension.class)
class RelocatedInstallE2eTest {

  @Test
  void anOverlayInAnotherNamespaceWithOtherNamesGatesPods() {
    E2eCluster cluster = E2eCluster.get();
    cluster.loadImages(List.of(BuiltImages.webhook().archive(), BuiltImages.waiter().archive()));
    GateInstall gate =
        GateInstall.kustomize(cluster.client(), cluster.kubeconfig(), "platform-gate", "-blue");
    try {
      GateChecks.assertTwoServingReplicas(gate);
      GateChecks.assertPodsWaitForTheirMigration(cluster, gate, "e2e-moved");
      GateChecks.assertOnlyTheCaBundleMayChange(cluster, gate);
    } finally {
      gate.uninstall();
    }
  }
}
