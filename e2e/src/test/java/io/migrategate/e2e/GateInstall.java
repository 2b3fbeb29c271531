package io.migrategate.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.MutatingWebhook;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.MutatingWebhookConfiguration;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.migrategate.cluster.LocalCluster;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * The gate installed the way a platform team installs it: {@code kubectl apply --server-side -k} of
 * an overlay of manifests/base that only points the images at this build's ({@code images:}), or
 * {@code helm install} of the chart with the image values set. Nothing else is changed.
 */
final class GateInstall {
  static final String NAMESPACE = "migrate-gate";
  static final String NAME = "migrate-gate";

  private final E2eCluster cluster;
  private final String how;
  private final Runnable uninstall;

  private GateInstall(E2eCluster cluster, String how, Runnable uninstall) {
    this.cluster = cluster;
    this.how = how;
    this.uninstall = uninstall;
  }

  /** {@code kubectl apply --server-side -k} of manifests/base with this build's images. */
  static GateInstall kustomize(E2eCluster cluster) {
    Project.Image webhook = Project.image("webhook");
    Project.Image waiter = Project.image("waiter");
    Path overlay = Project.ROOT.resolve("e2e/target/gate-overlay");
    try {
      Files.createDirectories(overlay);
      // kustomize takes bases by relative path only
      String base = overlay.relativize(Project.manifests().resolve("base")).toString();
      Files.writeString(
          overlay.resolve("kustomization.yaml"),
          String.join(
              "\n",
              "apiVersion: kustomize.config.k8s.io/v1beta1",
              "kind: Kustomization",
              "resources:",
              "  - " + base,
              "images:",
              "  - name: ghcr.io/migrate-gate/webhook",
              "    newName: " + webhook.repository(),
              "    newTag: " + webhook.tag(),
              "  - name: ghcr.io/migrate-gate/waiter",
              "    newName: " + waiter.repository(),
              "    newTag: " + waiter.tag(),
              ""));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    awaitNoGate(cluster);
    Project.kubectl(cluster.kubeconfig(), "apply", "--server-side", "-k", overlay.toString())
        .requireSuccess();
    GateInstall install =
        new GateInstall(
            cluster,
            "kubectl apply --server-side -k manifests/base",
            () ->
                Project.kubectl(
                        cluster.kubeconfig(), "delete", "-k", overlay.toString(), "--wait=true")
                    .requireSuccess());
    install.awaitServing();
    return install;
  }

  /** {@code helm install} of the chart into its own namespace, images set by values. */
  static GateInstall helm(E2eCluster cluster) {
    Project.Image webhook = Project.image("webhook");
    Project.Image waiter = Project.image("waiter");
    awaitNoGate(cluster);
    Project.helm(
            cluster.kubeconfig(),
            "install",
            NAME,
            Project.manifests().resolve("helm/migrate-gate").toString(),
            "--namespace",
            NAMESPACE,
            "--create-namespace",
            "--set",
            "image.repository=" + webhook.repository(),
            "--set",
            "image.tag=" + webhook.tag(),
            "--set",
            "waiterImage.repository=" + waiter.repository(),
            "--set",
            "waiterImage.tag=" + waiter.tag(),
            "--wait",
            "--timeout",
            "3m")
        .requireSuccess();
    GateInstall install =
        new GateInstall(
            cluster,
            "helm install",
            () -> {
              Project.helm(
                      cluster.kubeconfig(),
                      "uninstall",
                      NAME,
                      "--namespace",
                      NAMESPACE,
                      "--wait",
                      "--timeout",
                      "3m")
                  .requireSuccess();
              Project.kubectl(
                  cluster.kubeconfig(), "delete", "namespace", NAMESPACE, "--wait=true");
            });
    install.awaitServing();
    return install;
  }

  String how() {
    return how;
  }

  void uninstall() {
    uninstall.run();
    awaitNoGate(cluster);
  }

  /**
   * Both replicas available, the caBundle written by the gate into every webhook entry, and the API
   * server getting answers: a dry-run of an annotated pod comes back with migrate-wait.
   */
  void awaitServing() {
    KubernetesClient client = cluster.client();
    LocalCluster.await(
        "the gate's Deployment to have 2 available replicas (" + how + ")",
        Duration.ofMinutes(3),
        () -> {
          Deployment gate = client.apps().deployments().inNamespace(NAMESPACE).withName(NAME).get();
          return gate != null
              && gate.getStatus() != null
              && Integer.valueOf(2).equals(gate.getStatus().getAvailableReplicas());
        });
    LocalCluster.await(
        "the gate to write its CA into every webhook entry (self-managed TLS)",
        Duration.ofMinutes(2),
        () -> {
          MutatingWebhookConfiguration config =
              client
                  .admissionRegistration()
                  .v1()
                  .mutatingWebhookConfigurations()
                  .withName(NAME)
                  .get();
          return config != null
              && config.getWebhooks().stream()
                  .map(MutatingWebhook::getClientConfig)
                  .allMatch(c -> c.getCaBundle() != null && !c.getCaBundle().isEmpty());
        });
    String probeNamespace = "default";
    Pod probe = Workloads.probePod();
    LocalCluster.await(
        "the API server to call the gate for an annotated pod (dry run)",
        Duration.ofMinutes(2),
        () -> {
          Pod answered =
              client.pods().inNamespace(probeNamespace).resource(probe).dryRun().create();
          return answered.getSpec().getInitContainers().stream()
              .anyMatch(c -> c.getName().equals(Workloads.WAITER));
        });
  }

  /** The gate's pods, for the scenarios that disturb them. */
  List<Pod> pods() {
    return cluster
        .client()
        .pods()
        .inNamespace(NAMESPACE)
        .withLabel("app.kubernetes.io/component", "webhook")
        .list()
        .getItems();
  }

  /** No webhook configuration and no gate namespace left from an earlier install. */
  private static void awaitNoGate(E2eCluster cluster) {
    KubernetesClient client = cluster.client();
    LocalCluster.await(
        "no migrate-gate installation left (webhook configuration, namespace)",
        Duration.ofMinutes(3),
        () ->
            client.admissionRegistration().v1().mutatingWebhookConfigurations().withName(NAME).get()
                    == null
                && client.namespaces().withName(NAMESPACE).get() == null);
  }

  static void assertTwoServingReplicas(E2eCluster cluster) {
    List<Pod> pods =
        cluster
            .client()
            .pods()
            .inNamespace(NAMESPACE)
            .withLabel("app.kubernetes.io/component", "webhook")
            .list()
            .getItems();
    assertEquals(2, pods.size(), "gate pods: " + pods);
    assertFalse(pods.stream().anyMatch(p -> !Workloads.ready(p)), "every gate pod is ready");
  }
}
