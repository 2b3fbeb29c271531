package io.migrategate.demo;

import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.time.Duration;
import java.util.List;

/**
 * {@code --cluster}: the gate as the cluster runs it. Installed from {@code --manifests}
 * (kustomize, with the images configured there) when its webhook configuration is missing; then the
 * demo only waits for it to be available. Documented in docs/demo.md; not run by the tests (no real
 * cluster here).
 */
final class RealClusterGate {
  private RealClusterGate() {}

  static void ensureInstalled(KubernetesClient client, DemoOptions options, LiveView view) {
    boolean installed =
        client
                .admissionRegistration()
                .v1()
                .mutatingWebhookConfigurations()
                .withName("migrate-gate")
                .get()
            != null;
    if (!installed) {
      view.step("installing the gate: kubectl apply --server-side -k " + options.manifests());
      Commands.run(
              List.of("kubectl", "apply", "--server-side", "-k", options.manifests().toString()),
              Duration.ofMinutes(2))
          .requireSuccess("kubectl apply");
    } else {
      view.ok("the gate is installed (MutatingWebhookConfiguration migrate-gate)");
    }
    Waits.until(
        "Deployment migrate-gate/migrate-gate to be available",
        Duration.ofMinutes(5),
        () -> {
          Deployment gate =
              client
                  .apps()
                  .deployments()
                  .inNamespace("migrate-gate")
                  .withName("migrate-gate")
                  .get();
          return gate != null
              && gate.getStatus() != null
              && gate.getStatus().getAvailableReplicas() != null
              && gate.getStatus().getAvailableReplicas() > 0;
        },
        SetupException::new);
    view.ok("gate available: Deployment migrate-gate/migrate-gate");
  }
}
