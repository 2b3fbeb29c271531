package io.migrategate.manifests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.migrategate.cluster.LocalCluster;
import io.migrategate.cluster.LocalClusterTest;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The blast radius of a gate outage, with the shipped webhook configuration and no gate answering:
 * an unannotated pod is created normally wherever it is; a pod that carries migrate.io/job is
 * rejected with a message naming migrate-gate; the workload-annotation entries behave as their
 * namespace label says. Three ways to install, the same behaviour: the kustomize base with the gate
 * scaled to zero (a Service without endpoints), the local overlay and the chart pointing at a
 * closed port on 127.0.0.1.
 */
@LocalClusterTest
class GateStoppedClusterTest {
  private static final String JOB = "migrate.io/job";

  @Test
  void kustomizeBaseWithTheGateScaledToZero(LocalCluster cluster) {
    try (ClusterScene scene = new ClusterScene(cluster)) {
      String gateNamespace = "mg-stopped-" + scene.id;
      String overlay =
          scene
              .overlay(
                  "stopped",
                  String.join(
                      "\n",
                      "resources: [../../../base]",
                      "namespace: " + gateNamespace,
                      "nameSuffix: -" + scene.id,
                      "replicas: [{name: migrate-gate, count: 0}]",
                      "patches:",
                      "  - target: {kind: MutatingWebhookConfiguration}",
                      "    patch: |-",
                      scene.scopePatch(3)))
              .toString();
      scene.onClose(() -> scene.kubectl(null, "delete", "-k", overlay, "--wait=false"));
      scene.kubectl(null, "apply", "--server-side", "-k", overlay).requireSuccess();
      assertBlastRadius(scene, gateNamespace);
    }
  }

  @Test
  void localOverlayWithNoGateListening(LocalCluster cluster) {
    try (ClusterScene scene = new ClusterScene(cluster)) {
      String gateNamespace = "mg-stopped-" + scene.id;
      String overlay =
          scene
              .overlay(
                  "local",
                  String.join(
                      "\n",
                      "resources: [../../../overlays/local]",
                      "namespace: " + gateNamespace,
                      "nameSuffix: -" + scene.id,
                      "patches:",
                      "  - target: {kind: MutatingWebhookConfiguration}",
                      "    patch: |-",
                      scene.scopePatch(3) + ClusterScene.urlPatch(3, ClusterScene.closedPort())))
              .toString();
      scene.onClose(() -> scene.kubectl(null, "delete", "-k", overlay, "--wait=false"));
      scene.kubectl(null, "apply", "--server-side", "-k", overlay).requireSuccess();
      assertBlastRadius(scene, gateNamespace);
    }
  }

  @Test
  void helmChartWithAnExternalUrlWhereNoGateListens(LocalCluster cluster) {
    try (ClusterScene scene = new ClusterScene(cluster)) {
      String gateNamespace = "mg-stopped-" + scene.id;
      Rendered rendered =
          Rendered.helm(
              scene.tools,
              "mg-" + scene.id,
              gateNamespace,
              "--set",
              "namespace.create=true",
              "--set",
              "externalUrl=https://127.0.0.1:" + ClusterScene.closedPort() + "/mutate",
              "--set-json",
              "webhook.namespaceSelectorExpressions=[" + scene.scopeExpressionJson() + "]");
      String yaml = rendered.toYaml();
      scene.onClose(() -> scene.kubectl(yaml, "delete", "-f", "-", "--wait=false"));
      scene.kubectl(yaml, "apply", "--server-side", "-f", "-").requireSuccess();
      assertBlastRadius(scene, gateNamespace);
    }
  }

  private static void assertBlastRadius(ClusterScene scene, String gateNamespace) {
    var admin = scene.admin;
    String plain = scene.namespace("plain", Map.of());
    String enabled = scene.namespace("enabled", Map.of("migrate.io/gate", "enabled"));
    String enforced = scene.namespace("enforced", Map.of("migrate.io/gate", "enforced"));
    String disabled = scene.namespace("disabled", Map.of("migrate.io/gate", "disabled"));
    // The gate's own namespace, brought into the test's scope: excluded all the same.
    admin
        .namespaces()
        .withName(gateNamespace)
        .edit(
            n -> {
              n.getMetadata().getLabels().put(ClusterScene.SCOPE_LABEL, scene.id);
              return n;
            });
    scene.awaitDefaultServiceAccount(gateNamespace);

    // The API server loads new webhook configurations asynchronously; a dry run shows when it
    // calls (and that dry-run requests are sent too: sideEffects None).
    Pod probe = ClusterScene.pod("probe", Map.of(JOB, "migrate"), Map.of());
    LocalCluster.await(
        "the webhook configuration in effect",
        ClusterScene.WAIT,
        () -> {
          try {
            admin.pods().inNamespace(plain).resource(probe).dryRun().create();
            return false;
          } catch (KubernetesClientException e) {
            return e.getMessage().contains("migrate-gate");
          }
        });

    // A pod carrying the annotation: rejected, and the message says by what.
    KubernetesClientException rejected =
        assertThrows(
            KubernetesClientException.class,
            () ->
                admin
                    .pods()
                    .inNamespace(plain)
                    .resource(ClusterScene.pod("annotated", Map.of(JOB, "migrate"), Map.of()))
                    .create());
    assertTrue(
        rejected.getMessage().contains("annotated-pods.migrate-gate.io"),
        "the message names migrate-gate: " + rejected.getMessage());

    // Unannotated pods anywhere: created as if there were no gate.
    for (String namespace : List.of(plain, enabled, enforced, disabled, gateNamespace)) {
      assertCreated(scene, namespace, ClusterScene.pod("plain", Map.of(), Map.of()));
    }
    createDeployment(scene, plain, "web", Map.of(), Map.of());
    createDeployment(scene, enabled, "web", Map.of(), Map.of());
    awaitPod(scene, plain, "web");
    awaitPod(scene, enabled, "web");

    // Annotated pods where the gate never looks: opted-out namespace, opted-out pod, the gate's
    // own namespace.
    assertCreated(scene, disabled, ClusterScene.pod("annotated", Map.of(JOB, "migrate"), Map.of()));
    assertCreated(
        scene,
        plain,
        ClusterScene.pod(
            "opted-out", Map.of(JOB, "migrate", "migrate.io/inject", "false"), Map.of()));
    assertCreated(
        scene, gateNamespace, ClusterScene.pod("annotated", Map.of(JOB, "migrate"), Map.of()));
    // A pod label exempts nothing outside the gate's namespace: labelled as the gate's own pods,
    // an annotated pod in an app namespace is still held back.
    KubernetesClientException labelled =
        assertThrows(
            KubernetesClientException.class,
            () ->
                admin
                    .pods()
                    .inNamespace(plain)
                    .resource(
                        ClusterScene.pod(
                            "gate-pod",
                            Map.of(JOB, "migrate"),
                            Map.of("app.kubernetes.io/name", "migrate-gate")))
                    .create());
    assertTrue(
        labelled.getMessage().contains("annotated-pods.migrate-gate.io"), labelled.getMessage());

    // A Deployment annotated on its pod template: no pod, and its owner sees why.
    createDeployment(scene, plain, "gated", Map.of(), Map.of(JOB, "migrate"));
    awaitRefused(scene, plain, "gated");

    // Annotated on the Deployment itself: fail-open where the namespace says enabled (the pod
    // starts un-gated; the gate's auditor reports it), fail-closed where it says enforced, and
    // there every workload pod waits for the gate: the documented price.
    createDeployment(scene, enabled, "on-workload", Map.of(JOB, "migrate"), Map.of());
    Pod ungated = awaitPod(scene, enabled, "on-workload");
    assertTrue(ungated.getSpec().getInitContainers().isEmpty(), "started without migrate-wait");
    createDeployment(scene, enforced, "on-workload", Map.of(JOB, "migrate"), Map.of());
    createDeployment(scene, enforced, "web", Map.of(), Map.of());
    // Opting out pod by pod does not take a workload out of an enforced namespace.
    createDeployment(
        scene,
        enforced,
        "opted-out",
        Map.of(),
        Map.of(JOB, "migrate", "migrate.io/inject", "false"));
    awaitRefused(scene, enforced, "on-workload");
    awaitRefused(scene, enforced, "web");
    awaitRefused(scene, enforced, "opted-out");
  }

  private static void assertCreated(ClusterScene scene, String namespace, Pod pod) {
    Pod created = scene.admin.pods().inNamespace(namespace).resource(pod).create();
    assertNotNull(created.getMetadata().getUid(), pod.getMetadata().getName() + " in " + namespace);
  }

  private static void createDeployment(
      ClusterScene scene,
      String namespace,
      String name,
      Map<String, String> annotations,
      Map<String, String> templateAnnotations) {
    scene
        .admin
        .apps()
        .deployments()
        .inNamespace(namespace)
        .resource(ClusterScene.deployment(name, annotations, templateAnnotations))
        .create();
  }

  private static Pod awaitPod(ClusterScene scene, String namespace, String deployment) {
    LocalCluster.await(
        "a pod of " + namespace + "/" + deployment,
        ClusterScene.WAIT,
        () -> !scene.podsOf(namespace, deployment).isEmpty());
    return scene.podsOf(namespace, deployment).get(0);
  }

  private static void awaitRefused(ClusterScene scene, String namespace, String deployment) {
    LocalCluster.await(
        "FailedCreate naming migrate-gate on the ReplicaSet of " + namespace + "/" + deployment,
        ClusterScene.WAIT,
        () ->
            scene.failedCreateMessages(namespace, deployment).stream()
                .anyMatch(m -> m.contains("migrate-gate")));
    assertEquals(List.of(), scene.podsOf(namespace, deployment), "no pod was created");
  }
}
