package io.migrategate.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import io.fabric8.kubernetes.api.model.Pod;
import io.migrategate.cluster.GateInstall;
import java.util.List;

/** What every installation of the gate must show. */
final class GateChecks {
  private GateChecks() {}

  static void assertTwoServingReplicas(E2eCluster cluster) {
    List<Pod> pods =
        cluster
            .client()
            .pods()
            .inNamespace(GateInstall.NAMESPACE)
            .withLabel("app.kubernetes.io/component", "webhook")
            .list()
            .getItems();
    assertEquals(2, pods.size(), "gate pods: " + pods);
    assertFalse(pods.stream().anyMatch(p -> !Workloads.ready(p)), "every gate pod is ready");
  }
}
