package io.migrategate.gate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.DeploymentBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.migrategate.cluster.LocalCluster;
import io.migrategate.cluster.LocalClusterTest;
import io.migrategate.cluster.PodWebhook;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The gate itself (HTTPS server, production reviewer, informer-backed owner lookups) registered
 * with the real kube-apiserver: the API server's own TLS client calls it for every pod the real
 * Deployment controller creates, also after the serving certificate was rotated.
 */
@LocalClusterTest
class GateClusterTest {
  private static final Duration DEADLINE = Duration.ofSeconds(90);
  private static GateFixture gate;
  private static String namespace;
  private static PodWebhook webhook;

  @BeforeAll
  static void registerTheGate(LocalCluster cluster) throws Exception {
    namespace = cluster.createNamespace("gate-server", Map.of());
    KubernetesClient client = cluster.client();
    client
        .namespaces()
        .withName(namespace)
        .edit(
            n ->
                new io.fabric8.kubernetes.api.model.NamespaceBuilder(n)
                    .editMetadata()
                    .addToLabels("migrate-gate.test/server", namespace)
                    .endMetadata()
                    .build());
    gate = new GateFixture(Gate::defaultReviewer, "--kubeconfig", cluster.kubeconfig().toString());
    webhook =
        PodWebhook.register(
            client,
            "migrate-gate-server-test-" + namespace,
            "https://127.0.0.1:" + gate.gate.port() + "/mutate",
            gate.pki.caCertificatePem(),
            Map.of("migrate-gate.test/server", namespace));
    Pod probe =
        new io.fabric8.kubernetes.api.model.PodBuilder()
            .withNewMetadata()
            .withName("probe")
            .addToAnnotations("migrate.io/job", "probe-migrate")
            .endMetadata()
            .withSpec(deployment("probe", Map.of(), Map.of()).getSpec().getTemplate().getSpec())
            .build();
    PodWebhook.awaitCalled(
        client,
        namespace,
        probe,
        pod -> pod.getMetadata().getAnnotations().get("migrate.io/status") != null,
        DEADLINE);
  }

  @AfterAll
  static void unregister(LocalCluster cluster) throws Exception {
    if (webhook != null) {
      webhook.close();
    }
    if (gate != null) {
      gate.close();
    }
  }

  @Test
  void reportsTheApiAndItsOwnerCaches() {
    LocalCluster.await(
        "the gate to see the API and sync its owner caches",
        DEADLINE,
        () -> {
          String ready = probe("/readyz");
          return ready.contains("[+]kubernetes-api ok") && ready.contains("[+]owner-caches ok");
        });
    assertTrue(metric("migrate_gate_kubernetes_api_reachable") == 1.0);
    assertTrue(metric("migrate_gate_owner_caches_synced") == 1.0);
  }

  @Test
  void injectsPodsOfADeploymentAnnotatedOnItsTemplateOrOnItself(LocalCluster cluster)
      throws Exception {
    KubernetesClient client = cluster.client();
    client
        .resource(deployment("on-template", Map.of(), Map.of("migrate.io/job", "migrate-a")))
        .create();
    client
        .resource(deployment("on-deployment", Map.of("migrate.io/job", "migrate-b"), Map.of()))
        .create();

    awaitInjectedPod(client, "on-template", "migrate-a");
    awaitInjectedPod(client, "on-deployment", "migrate-b");
    assertTrue(
        metric(
                "migrate_gate_admission_reviews_total{outcome=\"injected\",reason=\"injected\",dry_run=\"false\"}")
            >= 2);
  }

  @Test
  void theApiServerKeepsCallingAfterTheCertificateIsRotated(LocalCluster cluster) throws Exception {
    TestPki.Issued next = gate.pki.issue(Duration.ofHours(4));
    gate.secret.publish(next);
    LocalCluster.await(
        "the gate to serve the new certificate",
        DEADLINE,
        () -> metric("migrate_gate_tls_reloads_total{result=\"success\"}") >= 1);

    KubernetesClient client = cluster.client();
    client
        .resource(deployment("after-rotation", Map.of(), Map.of("migrate.io/job", "migrate-c")))
        .create();

    awaitInjectedPod(client, "after-rotation", "migrate-c");
  }

  private static Deployment deployment(
      String name, Map<String, String> deploymentAnnotations, Map<String, String> podAnnotations) {
    return deployment(namespace, name, deploymentAnnotations, podAnnotations);
  }

  /** One replica of a plain app, annotated on the Deployment and/or its pod template. */
  static Deployment deployment(
      String namespace,
      String name,
      Map<String, String> deploymentAnnotations,
      Map<String, String> podAnnotations) {
    return new DeploymentBuilder()
        .withNewMetadata()
        .withName(name)
        .withNamespace(namespace)
        .withAnnotations(deploymentAnnotations)
        .endMetadata()
        .withNewSpec()
        .withReplicas(1)
        .withNewSelector()
        .addToMatchLabels("app", name)
        .endSelector()
        .withNewTemplate()
        .withNewMetadata()
        .addToLabels("app", name)
        .withAnnotations(podAnnotations)
        .endMetadata()
        .withNewSpec()
        .addNewContainer()
        .withName("app")
        .withImage("registry.example/app:1")
        .endContainer()
        .endSpec()
        .endTemplate()
        .endSpec()
        .build();
  }

  private static void awaitInjectedPod(KubernetesClient client, String app, String job) {
    LocalCluster.await(
        "a pod of " + app + " with migrate-wait",
        DEADLINE,
        () -> {
          List<Pod> pods =
              client.pods().inNamespace(namespace).withLabel("app", app).list().getItems();
          return pods.stream()
              .anyMatch(
                  pod ->
                      pod.getSpec().getInitContainers().stream()
                          .anyMatch(
                              c ->
                                  c.getName().equals("migrate-wait")
                                      && c.getEnv().stream()
                                          .anyMatch(e -> job.equals(e.getValue()))));
        });
    Pod pod = client.pods().inNamespace(namespace).withLabel("app", app).list().getItems().get(0);
    assertEquals(
        "registry.example.com/migrate-gate/waiter:test",
        pod.getSpec().getInitContainers().get(0).getImage());
  }

  private static String probe(String path) {
    try {
      return gate.probe(path).body();
    } catch (Exception e) {
      return "";
    }
  }

  private static double metric(String series) {
    try {
      return gate.metric(series);
    } catch (Exception e) {
      return Double.NaN;
    }
  }
}
