package io.migrategate.e2e;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerStatus;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodSecurityContextBuilder;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.SecurityContextBuilder;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import io.migrategate.cluster.LocalCluster;
import java.util.Optional;

/**
 * What an app team applies, written as they would write it (YAML): a migration Job and an app
 * Deployment from the small shell image, both passing PodSecurity "restricted". The app serves its
 * version over HTTP, so "the old pods keep serving" is something a request can tell.
 */
final class Workloads {
  static final String WAITER = "migrate-wait";
  static final String SHELL_IMAGE = LocalCluster.BUSYBOX_IMAGE;
  private static final KubernetesSerialization YAML = new KubernetesSerialization();

  private Workloads() {}

  /**
   * A migration Job running {@code script} in the shell image; {@code suspended} holds it until
   * resumed (a migration whose start the test controls).
   */
  static Job job(String name, String script, boolean suspended) {
    Job job =
        YAML.unmarshal(
            """
            apiVersion: batch/v1
            kind: Job
            metadata:
              name: %s
            spec:
              backoffLimit: 0
              suspend: %s
              template:
                spec:
                  restartPolicy: Never
                  terminationGracePeriodSeconds: 1
                  containers:
                    - name: migrate
                      image: %s
                      imagePullPolicy: Never
                      command: [sh, -c, %s]
            """
                .formatted(name, suspended, SHELL_IMAGE, quote(script)),
            Job.class);
    restricted(job.getSpec().getTemplate().getSpec());
    return job;
  }

  /**
   * The app: {@code replicas} pods of version {@code version} that serve "{@code version}" on port
   * 8080 and are Ready when they do, with {@code annotations} on the pod template (e.g. {@code
   * migrate.io/job}).
   */
  static Deployment app(
      String name, String version, int replicas, java.util.Map<String, String> annotations) {
    Deployment deployment =
        YAML.unmarshal(
            """
            apiVersion: apps/v1
            kind: Deployment
            metadata:
              name: %s
            spec:
              replicas: %d
              selector:
                matchLabels: {app: %s}
              strategy:
                type: RollingUpdate
                rollingUpdate: {maxSurge: 1, maxUnavailable: 0}
              template:
                metadata:
                  labels: {app: %s, version: %s}
                spec:
                  terminationGracePeriodSeconds: 1
                  containers:
                    - name: app
                      image: %s
                      imagePullPolicy: Never
                      command: [sh, -c, 'echo %s > /www/index.html && exec httpd -f -p 8080 -h /www']
                      ports: [{containerPort: 8080}]
                      readinessProbe:
                        httpGet: {path: /, port: 8080}
                        periodSeconds: 1
                      volumeMounts: [{name: www, mountPath: /www}]
                  volumes: [{name: www, emptyDir: {}}]
            """
                .formatted(name, replicas, name, name, version, SHELL_IMAGE, version),
            Deployment.class);
    deployment
        .getSpec()
        .getTemplate()
        .getMetadata()
        .setAnnotations(new java.util.HashMap<>(annotations));
    restricted(deployment.getSpec().getTemplate().getSpec());
    return deployment;
  }

  /** A pod that only a gate answers (dry runs): annotated, in a namespace without PodSecurity. */
  static Pod probePod() {
    return YAML.unmarshal(
        """
        apiVersion: v1
        kind: Pod
        metadata:
          generateName: gate-probe-
          annotations: {migrate.io/job: gate-probe}
        spec:
          containers: [{name: app, image: %s, command: [sh, -c, 'true']}]
        """
            .formatted(SHELL_IMAGE),
        Pod.class);
  }

  /** A pod that fetches {@code url} once and prints the body (its log is the answer). */
  static Pod fetcher(String url) {
    Pod pod =
        YAML.unmarshal(
            """
            apiVersion: v1
            kind: Pod
            metadata:
              generateName: fetch-
            spec:
              restartPolicy: Never
              terminationGracePeriodSeconds: 1
              containers:
                - name: fetch
                  image: %s
                  imagePullPolicy: Never
                  command: [timeout, '5', wget, -q, -O, '-', %s]
            """
                .formatted(SHELL_IMAGE, quote(url)),
            Pod.class);
    restricted(pod.getSpec());
    return pod;
  }

  /**
   * What PodSecurity "restricted" asks of a pod, as an app team writes it: non-root (the shell
   * image's files are readable by all), no privilege escalation, no capabilities, RuntimeDefault
   * seccomp.
   */
  static void restricted(PodSpec spec) {
    spec.setSecurityContext(
        new PodSecurityContextBuilder()
            .withRunAsNonRoot(true)
            .withRunAsUser(65532L)
            .withRunAsGroup(65532L)
            .withNewSeccompProfile()
            .withType("RuntimeDefault")
            .endSeccompProfile()
            .build());
    for (Container container : spec.getContainers()) {
      container.setSecurityContext(
          new SecurityContextBuilder()
              .withAllowPrivilegeEscalation(false)
              .withNewCapabilities()
              .withDrop("ALL")
              .endCapabilities()
              .build());
    }
  }

  static boolean ready(Pod pod) {
    return pod.getStatus() != null
        && pod.getStatus().getConditions() != null
        && pod.getStatus().getConditions().stream()
            .anyMatch(c -> "Ready".equals(c.getType()) && "True".equals(c.getStatus()));
  }

  /** The injected init container's status, if the kubelet reported one. */
  static Optional<ContainerStatus> waiter(Pod pod) {
    if (pod.getStatus() == null || pod.getStatus().getInitContainerStatuses() == null) {
      return Optional.empty();
    }
    return pod.getStatus().getInitContainerStatuses().stream()
        .filter(s -> WAITER.equals(s.getName()))
        .findFirst();
  }

  static boolean waiterRunning(Pod pod) {
    return waiter(pod)
        .map(s -> s.getState() != null && s.getState().getRunning() != null)
        .orElse(false);
  }

  static boolean injected(Pod pod) {
    return pod.getSpec().getInitContainers().stream().anyMatch(c -> WAITER.equals(c.getName()));
  }

  private static String quote(String text) {
    return "'" + text.replace("'", "''") + "'";
  }
}
