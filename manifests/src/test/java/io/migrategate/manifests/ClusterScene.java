package io.migrategate.manifests;

import io.fabric8.kubernetes.api.model.ContainerBuilder;
import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.PodSpecBuilder;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.DeploymentBuilder;
import io.fabric8.kubernetes.client.ConfigBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.migrategate.cluster.LocalCluster;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;

/**
 * What the cluster tests share. The control plane is shared with other test classes (and other
 * modules), so nothing here may reach beyond the test's own objects: every webhook entry the tests
 * install also requires the namespace label {@link #SCOPE_LABEL} with the test's own id, and every
 * object name carries that id.
 */
final class ClusterScene implements AutoCloseable {
  static final String SCOPE_LABEL = "migrate-gate.test/scope";
  static final Duration WAIT = Duration.ofSeconds(60);

  final LocalCluster cluster;

  /** Admin, without request retries. */
  final KubernetesClient admin;

  final Tools tools;
  final String id;
  private final List<String> namespaces = new ArrayList<>();
  private final List<Runnable> cleanups = new ArrayList<>();

  ClusterScene(LocalCluster cluster) {
    this.cluster = cluster;
    // No retries: a webhook rejection is an HTTP 500 that fabric8 would otherwise retry for
    // half a minute before reporting it.
    this.admin =
        new KubernetesClientBuilder()
            .withConfig(
                new ConfigBuilder(cluster.client().getConfiguration())
                    .withRequestRetryBackoffLimit(0)
                    .build())
            .build();
    this.tools = Tools.get();
    // Starts with a letter: the id goes unquoted into kustomization YAML (nameSuffix: -<id>),
    // where an all-digit id such as 6473 would be read as a number and refused by kustomize.
    ThreadLocalRandom random = ThreadLocalRandom.current();
    this.id =
        (char) ('a' + random.nextInt(26)) + Long.toString(random.nextLong(36L * 36 * 36 * 36), 36);
  }

  /** A namespace in the test's scope, with more labels. */
  String namespace(String prefix, Map<String, String> labels) {
    Map<String, String> all = new HashMap<>(labels);
    all.put(SCOPE_LABEL, id);
    String name = cluster.createNamespace(prefix, all);
    namespaces.add(name);
    return name;
  }

  /** Runs at close, last registered first. */
  void onClose(Runnable cleanup) {
    cleanups.add(0, cleanup);
  }

  /** The selector expression that limits a webhook entry to this test's namespaces. */
  String scopeExpressionJson() {
    return "{\"key\":\"" + SCOPE_LABEL + "\",\"operator\":\"In\",\"values\":[\"" + id + "\"]}";
  }

  /**
   * A kustomization under manifests/target, next to nothing else, whose paths are relative to
   * manifests/ (kustomize refuses absolute ones): {@code ../../../base} is the base.
   */
  Path overlay(String name, String kustomization) {
    Path dir = tools.manifests().resolve("target/kustomize-test/" + name + "-" + id);
    try {
      Files.createDirectories(dir);
      Files.writeString(dir.resolve("kustomization.yaml"), kustomization);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return dir;
  }

  /** JSON patch operations adding the scope expression to the first {@code entries} entries. */
  String scopePatch(int entries) {
    StringBuilder patch = new StringBuilder();
    for (int i = 0; i < entries; i++) {
      patch
          .append("      - op: add\n")
          .append("        path: /webhooks/")
          .append(i)
          .append("/namespaceSelector/matchExpressions/-\n")
          .append("        value: ")
          .append(scopeExpressionJson())
          .append('\n');
    }
    return patch.toString();
  }

  /**
   * Kustomize JSON patch operations pointing the first {@code entries} webhooks at a local port.
   */
  static String urlPatch(int entries, int port) {
    StringBuilder patch = new StringBuilder();
    for (int i = 0; i < entries; i++) {
      patch
          .append("      - op: replace\n        path: /webhooks/")
          .append(i)
          .append("/clientConfig/url\n        value: https://127.0.0.1:")
          .append(port)
          // The third entry is the enforced namespaces' (docs/install.md).
          .append(i == 2 ? "/mutate/enforced\n" : "/mutate\n");
    }
    return patch.toString();
  }

  Tools.Result kubectl(String stdin, String... args) {
    return tools.kubectl(cluster.kubeconfig(), stdin, args);
  }

  /** A local port nothing listens on: a gate that is not running. */
  static int closedPort() {
    try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return socket.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  void awaitDefaultServiceAccount(String namespace) {
    LocalCluster.await(
        "ServiceAccount " + namespace + "/default",
        WAIT,
        () -> admin.serviceAccounts().inNamespace(namespace).withName("default").get() != null);
  }

  /** A pod that PodSecurity "restricted" admits, with the given annotations and labels. */
  static Pod pod(String name, Map<String, String> annotations, Map<String, String> labels) {
    return new PodBuilder()
        .withNewMetadata()
        .withName(name)
        .withAnnotations(annotations)
        .withLabels(labels)
        .endMetadata()
        .withSpec(restrictedSpec())
        .build();
  }

  static Deployment deployment(
      String name, Map<String, String> annotations, Map<String, String> templateAnnotations) {
    return new DeploymentBuilder()
        .withNewMetadata()
        .withName(name)
        .withAnnotations(annotations)
        .endMetadata()
        .withNewSpec()
        .withReplicas(1)
        .withNewSelector()
        .addToMatchLabels("app", name)
        .endSelector()
        .withNewTemplate()
        .withNewMetadata()
        .addToLabels("app", name)
        .withAnnotations(templateAnnotations)
        .endMetadata()
        .withSpec(restrictedSpec())
        .endTemplate()
        .endSpec()
        .build();
  }

  static PodSpec restrictedSpec() {
    return new PodSpecBuilder()
        .withAutomountServiceAccountToken(false)
        .withNewSecurityContext()
        .withRunAsNonRoot(true)
        .withRunAsUser(1000L)
        .withNewSeccompProfile()
        .withType("RuntimeDefault")
        .endSeccompProfile()
        .endSecurityContext()
        .withContainers(
            new ContainerBuilder()
                .withName("app")
                .withImage("registry.example/app:1")
                .withNewSecurityContext()
                .withAllowPrivilegeEscalation(false)
                .withNewCapabilities()
                .withDrop("ALL")
                .endCapabilities()
                .endSecurityContext()
                .build())
        .build();
  }

  /** The pods a Deployment's ReplicaSet created (by its pod label). */
  List<Pod> podsOf(String namespace, String deployment) {
    return admin.pods().inNamespace(namespace).withLabel("app", deployment).list().getItems();
  }

  /** The FailedCreate events of a Deployment's ReplicaSets: what its owner sees at deploy time. */
  List<String> failedCreateMessages(String namespace, String deployment) {
    return admin.v1().events().inNamespace(namespace).list().getItems().stream()
        .filter(e -> "FailedCreate".equals(e.getReason()))
        .filter(e -> "ReplicaSet".equals(e.getInvolvedObject().getKind()))
        .filter(e -> e.getInvolvedObject().getName().startsWith(deployment + "-"))
        .map(Event::getMessage)
        .toList();
  }

  @Override
  public void close() {
    for (Runnable cleanup : cleanups) {
      try {
        cleanup.run();
      } catch (RuntimeException e) {
        System.err.println("cleanup failed (ignored): " + e);
      }
    }
    for (String namespace : namespaces) {
      admin.namespaces().withName(namespace).delete();
    }
    admin.close();
  }
}
