package io.migrategate.cluster;

import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.MutatingWebhook;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.MutatingWebhookConfiguration;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * The gate installed into a cluster the way a platform team installs it: {@code kubectl apply
 * --server-side -k} of an overlay of manifests/base that only points the images at this build's
 * ({@code images:}), or {@code helm install} of the chart with the image values set. Nothing else
 * is changed. Used by the end-to-end tests and the demo.
 */
public final class GateInstall {
  public static final String NAMESPACE = "migrate-gate";
  public static final String NAME = "migrate-gate";

  /** The init container a dry run must come back with once the API server calls the gate. */
  private static final String WAITER = "migrate-wait";

  private final KubernetesClient client;
  private final String how;
  private final Runnable uninstall;

  private GateInstall(KubernetesClient client, String how, Runnable uninstall) {
    this.client = client;
    this.how = how;
    this.uninstall = uninstall;
  }

  /** {@code kubectl apply --server-side -k} of manifests/base with this build's images. */
  public static GateInstall kustomize(KubernetesClient client, Path kubeconfig) {
    Path overlay = writeOverlay();
    awaitNoGate(client);
    Tools.kubectl(kubeconfig, "apply", "--server-side", "-k", overlay.toString()).requireSuccess();
    GateInstall install = existing(client, kubeconfig);
    install.awaitServing();
    return install;
  }

  /** A kustomize installation made earlier (by {@link #kustomize}), to remove it. */
  public static GateInstall existing(KubernetesClient client, Path kubeconfig) {
    Path overlay = writeOverlay();
    return new GateInstall(
        client,
        "kubectl apply --server-side -k manifests/base",
        () ->
            Tools.kubectl(
                    kubeconfig,
                    "delete",
                    "-k",
                    overlay.toString(),
                    "--ignore-not-found",
                    "--wait=true")
                .requireSuccess());
  }

  /**
   * An overlay of manifests/base that sets the images to this build's, in target/gate-overlay
   * (kustomize takes bases by relative path only).
   */
  private static Path writeOverlay() {
    BuiltImages.Image webhook = BuiltImages.webhook();
    BuiltImages.Image waiter = BuiltImages.waiter();
    Path overlay = Tools.projectRoot().resolve("target/gate-overlay");
    try {
      Files.createDirectories(overlay);
      String base = overlay.relativize(Tools.projectRoot().resolve("manifests/base")).toString();
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
    return overlay;
  }

  /**
   * {@code helm install} of the chart into its own namespace, images set by values.
   *
   * @param moreArgs more {@code helm install} arguments, e.g. {@code --set-string key=value}
   */
  public static GateInstall helm(KubernetesClient client, Path kubeconfig, String... moreArgs) {
    BuiltImages.Image webhook = BuiltImages.webhook();
    BuiltImages.Image waiter = BuiltImages.waiter();
    awaitNoGate(client);
    List<String> args =
        new ArrayList<>(
            List.of(
                "install",
                NAME,
                Tools.projectRoot().resolve("manifests/helm/migrate-gate").toString(),
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
                "3m"));
    args.addAll(List.of(moreArgs));
    Tools.helm(kubeconfig, args.toArray(String[]::new)).requireSuccess();
    GateInstall install =
        new GateInstall(
            client,
            "helm install",
            () -> {
              Tools.helm(
                      kubeconfig,
                      "uninstall",
                      NAME,
                      "--namespace",
                      NAMESPACE,
                      "--wait",
                      "--timeout",
                      "3m")
                  .requireSuccess();
              Tools.kubectl(kubeconfig, "delete", "namespace", NAMESPACE, "--wait=true");
            });
    install.awaitServing();
    return install;
  }

  /** How it was installed, for messages. */
  public String how() {
    return how;
  }

  /** Removes the installation and waits until no part of it is left. */
  public void uninstall() {
    uninstall.run();
    awaitNoGate(client);
  }

  /**
   * Both replicas available, the caBundle written by the gate into every webhook entry, and the API
   * server getting answers: a dry-run of an annotated pod comes back with migrate-wait.
   */
  public void awaitServing() {
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
    Pod probe =
        new PodBuilder()
            .withNewMetadata()
            .withGenerateName("gate-probe-")
            .addToAnnotations("migrate.io/job", "gate-probe")
            .endMetadata()
            .withNewSpec()
            .addNewContainer()
            .withName("app")
            .withImage(LocalCluster.BUSYBOX_IMAGE)
            .endContainer()
            .endSpec()
            .build();
    LocalCluster.await(
        "the API server to call the gate for an annotated pod (dry run)",
        Duration.ofMinutes(2),
        () -> {
          Pod answered =
              client.pods().inNamespace(probeNamespace).resource(probe).dryRun().create();
          return answered.getSpec().getInitContainers().stream()
              .anyMatch(c -> c.getName().equals(WAITER));
        });
  }

  /** The gate's pods (those of its Deployment). */
  public List<Pod> pods() {
    return client
        .pods()
        .inNamespace(NAMESPACE)
        .withLabel("app.kubernetes.io/component", "webhook")
        .list()
        .getItems();
  }

  /** No webhook configuration and no gate namespace left from an earlier install. */
  private static void awaitNoGate(KubernetesClient client) {
    LocalCluster.await(
        "no migrate-gate installation left (webhook configuration, namespace)",
        Duration.ofMinutes(3),
        () ->
            client.admissionRegistration().v1().mutatingWebhookConfigurations().withName(NAME).get()
                    == null
                && client.namespaces().withName(NAMESPACE).get() == null);
  }
}
