package io.migrategate.manifests;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.NodeBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.policy.v1.PodDisruptionBudget;
import io.migrategate.cluster.LocalCluster;
import io.migrategate.cluster.LocalClusterTest;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The gate's scheduling defaults on the smallest real cluster: one worker and a control-plane node
 * that carries kubeadm's NoSchedule taint. The hostname spread must not count the control-plane
 * node as a place to spread to (it would hold the second replica Pending forever and leave the
 * PodDisruptionBudget with no disruption to allow, so {@code kubectl drain} could never evict a
 * gate pod). On the local control plane: kwok-node-0 is the worker, this test adds the tainted
 * node; the real kube-scheduler and disruption controller decide.
 */
@LocalClusterTest
class SchedulingClusterTest {

  @Test
  void bothReplicasRunOnTheOnlyWorkerAndADrainMayEvictOne(LocalCluster cluster) {
    try (ClusterScene scene = new ClusterScene(cluster)) {
      String controlPlane = "mg-control-plane-" + scene.id;
      Node node =
          new NodeBuilder()
              .withNewMetadata()
              .withName(controlPlane)
              .addToAnnotations("kwok.x-k8s.io/node", "fake")
              .addToLabels("kubernetes.io/hostname", controlPlane)
              .addToLabels("node-role.kubernetes.io/control-plane", "")
              .endMetadata()
              .withNewSpec()
              .addNewTaint()
              .withKey("node-role.kubernetes.io/control-plane")
              .withEffect("NoSchedule")
              .endTaint()
              .endSpec()
              .build();
      scene.admin.nodes().resource(node).create();
      scene.onClose(() -> scene.admin.nodes().withName(controlPlane).delete());
      LocalCluster.await(
          "kwok to report node " + controlPlane + " Ready",
          ClusterScene.WAIT,
          () ->
              scene.admin.nodes().withName(controlPlane).get().getStatus().getConditions().stream()
                  .anyMatch(c -> c.getType().equals("Ready") && c.getStatus().equals("True")));

      // The base's Deployment and PodDisruptionBudget as shipped, in a namespace of the test.
      String namespace = "mg-sched-" + scene.id;
      scene.overlay(
          "sched",
          String.join(
              "\n",
              "resources: [../../../base]",
              "namespace: " + namespace,
              "nameSuffix: -" + scene.id,
              ""));
      Rendered rendered =
          Rendered.kustomize(scene.tools, "target/kustomize-test/sched-" + scene.id)
              .filter(
                  o ->
                      Set.of("Namespace", "ServiceAccount", "Deployment", "PodDisruptionBudget")
                          .contains(Rendered.kind(o)));
      String yaml = rendered.toYaml();
      scene.onClose(() -> scene.kubectl(yaml, "delete", "-f", "-", "--wait=false"));
      scene.kubectl(yaml, "apply", "--server-side", "-f", "-").requireSuccess();

      LocalCluster.await(
          "both gate replicas scheduled on the worker kwok-node-0",
          ClusterScene.WAIT,
          () -> {
            List<Pod> pods =
                scene
                    .admin
                    .pods()
                    .inNamespace(namespace)
                    .withLabel("app.kubernetes.io/component", "webhook")
                    .list()
                    .getItems();
            return pods.size() == 2
                && pods.stream().allMatch(p -> "kwok-node-0".equals(p.getSpec().getNodeName()));
          });
      String pdbName = Rendered.name(rendered.one("PodDisruptionBudget"));
      LocalCluster.await(
          "the PodDisruptionBudget to allow one disruption (a drain can evict a gate pod)",
          ClusterScene.WAIT,
          () -> {
            PodDisruptionBudget pdb =
                scene
                    .admin
                    .policy()
                    .v1()
                    .podDisruptionBudget()
                    .inNamespace(namespace)
                    .withName(pdbName)
                    .get();
            return pdb.getStatus() != null
                && Integer.valueOf(1).equals(pdb.getStatus().getDisruptionsAllowed());
          });
      assertEquals(
          "Honor",
          rendered
              .one("Deployment")
              .path("spec")
              .path("template")
              .path("spec")
              .path("topologySpreadConstraints")
              .get(0)
              .path("nodeTaintsPolicy")
              .asText());
    }
  }
}
