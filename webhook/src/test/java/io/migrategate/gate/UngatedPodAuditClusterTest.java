package io.migrategate.gate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.migrategate.cluster.LocalCluster;
import io.migrategate.cluster.LocalClusterTest;
import io.migrategate.gate.admission.UngatedPodAuditor;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Pods of a Deployment annotated on its own metadata that the gate never reviewed (here no webhook
 * sends them at all, as in an unlabeled namespace, or a fail-open one while the gate is down) are
 * reported by the gate as one {@code PodsNotGated} Warning Event on the Deployment per set of pods:
 * not repeated on later passes, renewed when another pod starts un-gated. Workloads whose pods need
 * no gate, or carry the annotation themselves, are not reported.
 */
@LocalClusterTest
class UngatedPodAuditClusterTest {
  private static final Duration DEADLINE = Duration.ofSeconds(90);

  @Test
  void reportsPodsOfAnAnnotatedDeploymentThatStartedWithoutTheGate(LocalCluster cluster)
      throws Exception {
    KubernetesClient client = cluster.client();
    String namespace = cluster.createNamespace("ungated", Map.of());
    client
        .resource(
            GateClusterTest.deployment(
                namespace, "web", Map.of("migrate.io/job", "web-migrate"), Map.of()))
        .create();
    client.resource(GateClusterTest.deployment(namespace, "plain", Map.of(), Map.of())).create();
    client
        .resource(
            GateClusterTest.deployment(
                namespace, "on-template", Map.of(), Map.of("migrate.io/job", "other")))
        .create();
    awaitPods(client, namespace, "web", 1);
    awaitPods(client, namespace, "plain", 1);
    awaitPods(client, namespace, "on-template", 1);

    try (GateFixture gate =
        new GateFixture(
            Gate::defaultReviewer,
            "--kubeconfig",
            cluster.kubeconfig().toString(),
            "--audit-interval",
            "1s")) {
      LocalCluster.await(
          "a PodsNotGated event on Deployment web",
          DEADLINE,
          () -> events(client, namespace).size() == 1);
      Event first = events(client, namespace).get(0);
      Pod webPod = pods(client, namespace, "web").get(0);
      assertEquals("Warning", first.getType());
      assertEquals("Deployment", first.getInvolvedObject().getKind());
      assertEquals("web", first.getInvolvedObject().getName());
      assertEquals(
          client
              .apps()
              .deployments()
              .inNamespace(namespace)
              .withName("web")
              .get()
              .getMetadata()
              .getUid(),
          first.getInvolvedObject().getUid());
      assertEquals("migrate-gate", first.getSource().getComponent());
      assertTrue(
          first
              .getMessage()
              .startsWith(
                  "1 pod of this Deployment started WITHOUT migrate-wait, so it did not wait for"
                      + " Job web-migrate: "
                      + webPod.getMetadata().getName()
                      + "."),
          first.getMessage());

      // Later passes find the same pod and report nothing new.
      double passes = gate.metric("migrate_gate_ungated_pod_audit_passes_total");
      LocalCluster.await(
          "two more audit passes",
          DEADLINE,
          () -> metricOrZero(gate, "migrate_gate_ungated_pod_audit_passes_total") >= passes + 2);
      assertEquals(1, events(client, namespace).size(), "the same pods are reported once");
      // The gauge counts every namespace of this shared cluster: other tests' pods may add to it.
      double ungated = gate.metric("migrate_gate_ungated_pods");
      assertTrue(ungated >= 1.0, "the gauge counts web's pod: " + ungated);
      assertEquals(0.0, gate.metric("migrate_gate_ungated_pod_audit_failing"));

      // Another un-gated pod: a new event naming both.
      client.apps().deployments().inNamespace(namespace).withName("web").scale(2);
      awaitPods(client, namespace, "web", 2);
      LocalCluster.await(
          "the gauge counts one pod more",
          DEADLINE,
          () -> metricOrZero(gate, "migrate_gate_ungated_pods") == ungated + 1);
      LocalCluster.await(
          "a second PodsNotGated event for two pods",
          DEADLINE,
          () ->
              events(client, namespace).stream()
                  .anyMatch(e -> e.getMessage().startsWith("2 pods")));
      for (Pod pod : pods(client, namespace, "web")) {
        assertTrue(
            events(client, namespace).stream()
                .anyMatch(e -> e.getMessage().contains(pod.getMetadata().getName())),
            "an event names " + pod.getMetadata().getName());
      }
      assertTrue(
          events(client, namespace).stream()
              .allMatch(e -> e.getInvolvedObject().getName().equals("web")),
          "only Deployment web is reported: " + events(client, namespace));
    } finally {
      // Its un-gated pods would count in the gauge of every later audit in this cluster.
      client.namespaces().withName(namespace).delete();
    }
  }

  private static List<Event> events(KubernetesClient client, String namespace) {
    return client.v1().events().inNamespace(namespace).list().getItems().stream()
        .filter(e -> UngatedPodAuditor.EVENT_REASON.equals(e.getReason()))
        .toList();
  }

  private static double metricOrZero(GateFixture gate, String series) {
    try {
      return gate.metric(series);
    } catch (Exception e) {
      return 0;
    }
  }

  private static List<Pod> pods(KubernetesClient client, String namespace, String app) {
    return client.pods().inNamespace(namespace).withLabel("app", app).list().getItems();
  }

  private static void awaitPods(KubernetesClient client, String namespace, String app, int count) {
    LocalCluster.await(
        count + " pod(s) of " + namespace + "/" + app,
        DEADLINE,
        () -> pods(client, namespace, app).size() == count);
  }
}
