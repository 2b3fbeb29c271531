package io.migrategate.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.DeploymentBuilder;
import io.fabric8.kubernetes.api.model.apps.ReplicaSet;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.batch.v1.JobBuilder;
import io.fabric8.kubernetes.api.model.batch.v1.JobCondition;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The control plane's real controllers, kwok and PodSecurity admission do their part. */
@LocalClusterTest
class ControlPlaneClusterTest {

  private static final Duration DEADLINE = Duration.ofSeconds(60);

  @Test
  void deploymentGetsReplicaSetAndReadyPodsFromRealControllers(LocalCluster cluster) {
    KubernetesClient client = cluster.client();
    String ns = cluster.createNamespace("deploy", Map.of());
    client.apps().deployments().inNamespace(ns).resource(deployment("web", 2)).create();

    LocalCluster.await(
        "deployment web to have 2 ready replicas",
        DEADLINE,
        () -> {
          Deployment d = client.apps().deployments().inNamespace(ns).withName("web").get();
          return d.getStatus() != null
              && Integer.valueOf(2).equals(d.getStatus().getReadyReplicas());
        });
    List<ReplicaSet> replicaSets = client.apps().replicaSets().inNamespace(ns).list().getItems();
    assertEquals(1, replicaSets.size(), "the Deployment controller created one ReplicaSet");
    List<Pod> pods = client.pods().inNamespace(ns).list().getItems();
    assertEquals(2, pods.size());
    for (Pod pod : pods) {
      assertEquals(
          "kwok-node-0",
          pod.getSpec().getNodeName(),
          "scheduled by kube-scheduler onto the kwok node");
      assertEquals("Running", pod.getStatus().getPhase());
      assertEquals(
          "ReplicaSet",
          pod.getMetadata().getOwnerReferences().get(0).getKind(),
          "created by the ReplicaSet controller");
    }
  }

  @Test
  void jobControllerMarksJobCompleteWhenItsPodSucceeds(LocalCluster cluster) {
    KubernetesClient client = cluster.client();
    String ns = cluster.createNamespace("job-ok", Map.of());
    client.batch().v1().jobs().inNamespace(ns).resource(job("migrate", false)).create();

    LocalCluster.await(
        "job migrate Complete=True",
        DEADLINE,
        () -> condition(client, ns, "migrate", "Complete").isPresent());
    Job job = client.batch().v1().jobs().inNamespace(ns).withName("migrate").get();
    assertEquals(1, job.getStatus().getSucceeded());
  }

  @Test
  void jobWhosePodFailsReachesFailedWithBackoffLimitExceeded(LocalCluster cluster) {
    KubernetesClient client = cluster.client();
    String ns = cluster.createNamespace("job-fail", Map.of());
    client.batch().v1().jobs().inNamespace(ns).resource(job("migrate", true)).create();

    LocalCluster.await(
        "job migrate Failed=True",
        DEADLINE,
        () -> condition(client, ns, "migrate", "Failed").isPresent());
    JobCondition failed = condition(client, ns, "migrate", "Failed").orElseThrow();
    assertEquals("BackoffLimitExceeded", failed.getReason());
    assertFalse(condition(client, ns, "migrate", "Complete").isPresent());
  }

  @Test
  void restrictedNamespaceRejectsPrivilegedPod(LocalCluster cluster) {
    KubernetesClient client = cluster.client();
    String ns =
        cluster.createNamespace(
            "restricted", Map.of("pod-security.kubernetes.io/enforce", "restricted"));
    Pod privileged =
        new PodBuilder()
            .withNewMetadata()
            .withName("privileged")
            .endMetadata()
            .withNewSpec()
            .addNewContainer()
            .withName("app")
            .withImage("registry.example/app:1")
            .withNewSecurityContext()
            .withPrivileged(true)
            .endSecurityContext()
            .endContainer()
            .endSpec()
            .build();

    KubernetesClientException rejected =
        assertThrows(
            KubernetesClientException.class,
            () -> client.pods().inNamespace(ns).resource(privileged).create());
    assertEquals(403, rejected.getCode());
    assertTrue(
        rejected.getMessage().contains("violates PodSecurity \"restricted:latest\""),
        "PodSecurity admission names the policy: " + rejected.getMessage());
  }

  @Test
  void clientsReconnectAfterApiServerRestart(LocalCluster cluster) {
    KubernetesClient client = cluster.client();
    String ns = cluster.createNamespace("restart", Map.of());
    var seen = new java.util.concurrent.ConcurrentHashMap<String, Boolean>();
    try (var informer =
        client
            .configMaps()
            .inNamespace(ns)
            .inform(
                new io.fabric8.kubernetes.client.informers.ResourceEventHandler<>() {
                  @Override
                  public void onAdd(io.fabric8.kubernetes.api.model.ConfigMap cm) {
                    seen.put(cm.getMetadata().getName(), true);
                  }

                  @Override
                  public void onUpdate(
                      io.fabric8.kubernetes.api.model.ConfigMap o,
                      io.fabric8.kubernetes.api.model.ConfigMap n) {}

                  @Override
                  public void onDelete(
                      io.fabric8.kubernetes.api.model.ConfigMap cm, boolean unknown) {}
                })) {
      createConfigMap(client, ns, "before");
      LocalCluster.await("informer sees 'before'", DEADLINE, () -> seen.containsKey("before"));

      cluster.restartApiServer();

      createConfigMap(client, ns, "after");
      LocalCluster.await(
          "informer re-watches and sees 'after'", DEADLINE, () -> seen.containsKey("after"));
      // and the controllers kept working through the restart
      client.batch().v1().jobs().inNamespace(ns).resource(job("after-restart", false)).create();
      LocalCluster.await(
          "job after-restart Complete=True",
          DEADLINE,
          () -> condition(client, ns, "after-restart", "Complete").isPresent());
    }
  }

  @Test
  void injectedPodWaitsForItsWaiterOutcomeRecordedOnThePod(LocalCluster cluster) {
    KubernetesClient client = cluster.client();
    String ns = cluster.createNamespace("kubelet-stand-in", Map.of());
    for (String name : List.of("held", "released", "failed")) {
      client.pods().inNamespace(ns).resource(injectedPod(name)).create();
    }
    client
        .pods()
        .inNamespace(ns)
        .withName("released")
        .edit(p -> annotate(p, Map.of(INIT_EXIT_CODE, "0")));
    client
        .pods()
        .inNamespace(ns)
        .withName("failed")
        .edit(
            p ->
                annotate(
                    p,
                    Map.of(
                        INIT_EXIT_CODE,
                        "2",
                        INIT_MESSAGE,
                        "job shop/db failed: BackoffLimitExceeded")));

    LocalCluster.await(
        "pod 'released' Running",
        DEADLINE,
        () ->
            "Running"
                .equals(
                    client
                        .pods()
                        .inNamespace(ns)
                        .withName("released")
                        .get()
                        .getStatus()
                        .getPhase()));
    LocalCluster.await(
        "pod 'failed' shows migrate-wait terminated with exit code 2",
        DEADLINE,
        () -> waiterExitCode(client.pods().inNamespace(ns).withName("failed").get()) == 2);
    Pod failed = client.pods().inNamespace(ns).withName("failed").get();
    assertEquals(
        "job shop/db failed: BackoffLimitExceeded",
        failed
            .getStatus()
            .getInitContainerStatuses()
            .get(0)
            .getState()
            .getTerminated()
            .getMessage());
    assertEquals("Pending", failed.getStatus().getPhase());
    // kwok handled 'released' after 'held' was created, so 'held' would have been handled by now
    // too
    assertEquals(
        "Pending", client.pods().inNamespace(ns).withName("held").get().getStatus().getPhase());
  }

  private static final String INIT_EXIT_CODE = "local-cluster.migrate-gate.io/init-exit-code";
  private static final String INIT_MESSAGE = "local-cluster.migrate-gate.io/init-message";

  private static Pod injectedPod(String name) {
    return new PodBuilder()
        .withNewMetadata()
        .withName(name)
        .addToAnnotations("migrate.io/status", "injected")
        .endMetadata()
        .withNewSpec()
        .addNewInitContainer()
        .withName("migrate-wait")
        .withImage("registry.example/waiter:1")
        .endInitContainer()
        .addNewContainer()
        .withName("app")
        .withImage("registry.example/app:1")
        .endContainer()
        .endSpec()
        .build();
  }

  private static Pod annotate(Pod pod, Map<String, String> annotations) {
    pod.getMetadata().getAnnotations().putAll(annotations);
    return pod;
  }

  private static int waiterExitCode(Pod pod) {
    if (pod.getStatus().getInitContainerStatuses() == null
        || pod.getStatus().getInitContainerStatuses().isEmpty()) {
      return -1;
    }
    var terminated = pod.getStatus().getInitContainerStatuses().get(0).getState().getTerminated();
    return terminated == null ? -1 : terminated.getExitCode();
  }

  private static void createConfigMap(KubernetesClient client, String ns, String name) {
    client
        .configMaps()
        .inNamespace(ns)
        .resource(
            new io.fabric8.kubernetes.api.model.ConfigMapBuilder()
                .withNewMetadata()
                .withName(name)
                .endMetadata()
                .addToData("k", "v")
                .build())
        .create();
  }

  static Deployment deployment(String name, int replicas) {
    return new DeploymentBuilder()
        .withNewMetadata()
        .withName(name)
        .endMetadata()
        .withNewSpec()
        .withReplicas(replicas)
        .withNewSelector()
        .addToMatchLabels("app", name)
        .endSelector()
        .withNewTemplate()
        .withNewMetadata()
        .addToLabels("app", name)
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

  static Job job(String name, boolean fail) {
    return new JobBuilder()
        .withNewMetadata()
        .withName(name)
        .endMetadata()
        .withNewSpec()
        .withBackoffLimit(0)
        .withNewTemplate()
        .withNewMetadata()
        .addToAnnotations(fail ? Map.of("migrate-gate.test/fail", "true") : Map.of())
        .endMetadata()
        .withNewSpec()
        .withRestartPolicy("Never")
        .addNewContainer()
        .withName("migrate")
        .withImage("registry.example/migrate:1")
        .endContainer()
        .endSpec()
        .endTemplate()
        .endSpec()
        .build();
  }

  static Optional<JobCondition> condition(
      KubernetesClient client, String ns, String job, String type) {
    Job j = client.batch().v1().jobs().inNamespace(ns).withName(job).get();
    if (j == null || j.getStatus() == null || j.getStatus().getConditions() == null) {
      return Optional.empty();
    }
    return j.getStatus().getConditions().stream()
        .filter(c -> type.equals(c.getType()) && "True".equals(c.getStatus()))
        .findFirst();
  }
}
