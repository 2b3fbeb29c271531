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
import java.util.function.Consumer;

/**
 * The gate installed into a cluster the way a platform team installs it: {@code kubectl apply
 * --server-side -k} of an overlay of manifests/base that points the images at this build's ({@code
 * images:}) and may move it ({@code namespace:}, {@code nameSuffix:}), or {@code helm install} of
 * the chart with the image values set, into any namespace under any release name. Nothing else is
 * changed. Used by the end-to-end tests and the demo.
 */
public final class GateInstall {
  /** Where manifests/base and the chart's default release put the gate. */
  public static final String NAMESPACE = "migrate-gate";

  public static final String NAME = "migrate-gate";

  /** The init container a dry run must come back with once the API server calls the gate. */
  private static final String WAITER = "migrate-wait";

  private final KubernetesClient client;
  private final String namespace;
  private final String name;
  private final String how;
  private final Runnable uninstall;
  private final Consumer<List<String>> upgrade;

  private GateInstall(
      KubernetesClient client,
      String namespace,
      String name,
      String how,
      Runnable uninstall,
      Consumer<List<String>> upgrade) {
    this.client = client;
    this.namespace = namespace;
    this.name = name;
    this.how = how;
    this.uninstall = uninstall;
    this.upgrade = upgrade;
  }

  /** {@code kubectl apply --server-side -k} of manifests/base with this build's images. */
  public static GateInstall kustomize(KubernetesClient client, Path kubeconfig) {
    return kustomize(client, kubeconfig, NAMESPACE, "");
  }

  /**
   * {@code kubectl apply --server-side -k} of an overlay of manifests/base with this build's
   * images, in {@code namespace} and with {@code nameSuffix} appended to every name.
   */
  public static GateInstall kustomize(
      KubernetesClient client, Path kubeconfig, String namespace, String nameSuffix) {
    Path overlay = writeOverlay(namespace, nameSuffix);
    GateInstall install = kustomizeInstallation(client, kubeconfig, namespace, nameSuffix, overlay);
    install.awaitNoGate();
    Tools.kubectl(kubeconfig, "apply", "--server-side", "-k", overlay.toString()).requireSuccess();
    install.awaitServing();
    return install;
  }

  /** A kustomize installation made earlier (by {@link #kustomize}), to remove it. */
  public static GateInstall existing(KubernetesClient client, Path kubeconfig) {
    return kustomizeInstallation(client, kubeconfig, NAMESPACE, "", writeOverlay(NAMESPACE, ""));
  }

  private static GateInstall kustomizeInstallation(
      KubernetesClient client, Path kubeconfig, String namespace, String nameSuffix, Path overlay) {
    return new GateInstall(
        client,
        namespace,
        NAME + nameSuffix,
        "kubectl apply --server-side -k "
            + (namespace.equals(NAMESPACE) && nameSuffix.isEmpty()
                ? "manifests/base"
                : "an overlay of manifests/base (namespace "
                    + namespace
                    + ", nameSuffix '"
                    + nameSuffix
                    + "')"),
        () -> {
          // As docs/install.md says: the webhook configuration first, so that no annotated pod
          // is rejected while the gate is going.
          Tools.kubectl(
                  kubeconfig,
                  "delete",
                  "mutatingwebhookconfiguration",
                  NAME + nameSuffix,
                  "--ignore-not-found")
              .requireSuccess();
          Tools.kubectl(
                  kubeconfig,
                  "delete",
                  "-k",
                  overlay.toString(),
                  "--ignore-not-found",
                  "--wait=true")
              .requireSuccess();
        },
        args -> {
          throw new UnsupportedOperationException("upgrade: a Helm installation's");
        });
  }

  /**
   * An overlay of manifests/base that sets the images to this build's and, unless they are the
   * base's, the namespace and a name suffix, in target/gate-overlay[-namespace] (kustomize takes
   * bases by relative path only).
   */
  private static Path writeOverlay(String namespace, String nameSuffix) {
    BuiltImages.Image webhook = BuiltImages.webhook();
    BuiltImages.Image waiter = BuiltImages.waiter();
    boolean moved = !namespace.equals(NAMESPACE) || !nameSuffix.isEmpty();
    Path overlay =
        Tools.projectRoot()
            .resolve(moved ? "target/gate-overlay-" + namespace : "target/gate-overlay");
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
              moved ? "namespace: " + namespace : "",
              moved && !nameSuffix.isEmpty() ? "nameSuffix: \"" + nameSuffix + "\"" : "",
              ""));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return overlay;
  }

  /**
   * {@code helm install} of the chart as {@code release} into {@code namespace}, images set by
   * values. Its objects are named as the chart names them: the release name if it contains
   * "migrate-gate", else {@code <release>-migrate-gate}.
   *
   * @param moreArgs more {@code helm install} arguments, e.g. {@code --set-string key=value}
   */
  public static GateInstall helm(
      KubernetesClient client,
      Path kubeconfig,
      String namespace,
      String release,
      String... moreArgs) {
    BuiltImages.Image webhook = BuiltImages.webhook();
    BuiltImages.Image waiter = BuiltImages.waiter();
    String name = release.contains(NAME) ? release : release + "-" + NAME;
    List<String> args =
        new ArrayList<>(
            List.of(
                "install",
                release,
                Tools.projectRoot().resolve("manifests/helm/migrate-gate").toString(),
                "--namespace",
                namespace,
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
    GateInstall install =
        new GateInstall(
            client,
            namespace,
            name,
            "helm install " + release + " -n " + namespace,
            () -> {
              Tools.helm(
                      kubeconfig,
                      "uninstall",
                      release,
                      "--namespace",
                      namespace,
                      "--wait",
                      "--timeout",
                      "3m")
                  .requireSuccess();
              Tools.kubectl(kubeconfig, "delete", "namespace", namespace, "--wait=true");
            },
            upgradeArgs -> {
              List<String> command =
                  new ArrayList<>(
                      List.of(
                          "upgrade",
                          release,
                          Tools.projectRoot().resolve("manifests/helm/migrate-gate").toString(),
                          "--namespace",
                          namespace,
                          "--reuse-values",
                          "--wait",
                          "--timeout",
                          "3m"));
              command.addAll(upgradeArgs);
              Tools.helm(kubeconfig, command.toArray(String[]::new)).requireSuccess();
            });
    install.awaitNoGate();
    Tools.helm(kubeconfig, args.toArray(String[]::new)).requireSuccess();
    install.awaitServing();
    return install;
  }

  /**
   * {@code helm upgrade --reuse-values --wait} of a Helm installation with more arguments (e.g.
   * {@code --set podAnnotations.x=y} to roll the gate's pods), then until it serves again.
   */
  public void upgrade(String... moreArgs) {
    upgrade.accept(List.of(moreArgs));
    awaitServing();
  }

  /** The gate's namespace. */
  public String namespace() {
    return namespace;
  }

  /**
   * The name of the gate's Deployment, Service, ServiceAccount and webhook configuration (they
   * share it).
   */
  public String name() {
    return name;
  }

  /** The wait URL injected waiters call: the Service's wait port. */
  public String waitUrl() {
    return "https://" + name + "." + namespace + ".svc:8444";
  }

  /** How it was installed, for messages. */
  public String how() {
    return how;
  }

  /** Removes the installation and waits until no part of it is left. */
  public void uninstall() {
    uninstall.run();
    awaitNoGate();
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
          Deployment gate = client.apps().deployments().inNamespace(namespace).withName(name).get();
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
                  .withName(name)
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
        .inNamespace(namespace)
        .withLabel("app.kubernetes.io/component", "webhook")
        .list()
        .getItems();
  }

  /** No webhook configuration and no gate namespace of this name left from an earlier install. */
  private void awaitNoGate() {
    LocalCluster.await(
        "no migrate-gate installation left (webhook configuration "
            + name
            + ", namespace "
            + namespace
            + ")",
        Duration.ofMinutes(3),
        () ->
            client.admissionRegistration().v1().mutatingWebhookConfigurations().withName(name).get()
                    == null
                && client.namespaces().withName(namespace).get() == null);
  }
}
