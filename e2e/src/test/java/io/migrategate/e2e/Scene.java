package io.migrategate.e2e;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.migrategate.cluster.LocalCluster;
import io.migrategate.cluster.Tools;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Predicate;

/**
 * One scenario's namespace, PodSecurity "restricted" enforced (every scenario proves the injected
 * waiter passes it), and what the scenario does there as an app team would.
 */
final class Scene implements AutoCloseable {
  static final Duration POD_START = Duration.ofMinutes(2);

  final E2eCluster cluster;
  final KubernetesClient client;
  final String namespace;

  Scene(E2eCluster cluster, String prefix) {
    this.cluster = cluster;
    this.client = cluster.client();
    this.namespace =
        prefix + "-" + Long.toString(ThreadLocalRandom.current().nextLong(36L * 36 * 36 * 36), 36);
    client
        .namespaces()
        .resource(
            new NamespaceBuilder()
                .withNewMetadata()
                .withName(namespace)
                .withLabels(
                    Map.of(
                        "pod-security.kubernetes.io/enforce", "restricted",
                        "pod-security.kubernetes.io/enforce-version", "latest"))
                .endMetadata()
                .build())
        .create();
    LocalCluster.await(
        "ServiceAccount " + namespace + "/default",
        Duration.ofMinutes(1),
        () -> client.serviceAccounts().inNamespace(namespace).withName("default").get() != null);
  }

  <T extends HasMetadata> T create(T object) {
    return client.resource(object).inNamespace(namespace).create();
  }

  Job job(String name) {
    return client.batch().v1().jobs().inNamespace(namespace).withName(name).get();
  }

  /**
   * Deletes a Job (as Helm's hook-delete-policy hook-succeeded does) and waits until it is gone.
   */
  void deleteJob(String name) {
    client.batch().v1().jobs().inNamespace(namespace).withName(name).delete();
    LocalCluster.await(
        "Job " + namespace + "/" + name + " deleted",
        Duration.ofMinutes(1),
        () -> job(name) == null);
  }

  void resume(String job) {
    client
        .batch()
        .v1()
        .jobs()
        .inNamespace(namespace)
        .withName(job)
        .edit(
            j -> {
              j.getSpec().setSuspend(false);
              return j;
            });
  }

  void awaitJobCondition(String job, String type) {
    LocalCluster.await(
        "Job " + namespace + "/" + job + " to be " + type,
        POD_START,
        () -> {
          Job current = job(job);
          return current != null
              && current.getStatus() != null
              && current.getStatus().getConditions() != null
              && current.getStatus().getConditions().stream()
                  .anyMatch(c -> type.equals(c.getType()) && "True".equals(c.getStatus()));
        });
  }

  Deployment deploy(Deployment app) {
    return client.apps().deployments().inNamespace(namespace).resource(app).serverSideApply();
  }

  /** The app's live pods (not terminating) with {@code version}. */
  List<Pod> pods(String app, String version) {
    return client
        .pods()
        .inNamespace(namespace)
        .withLabel("app", app)
        .withLabel("version", version)
        .list()
        .getItems()
        .stream()
        .filter(p -> p.getMetadata().getDeletionTimestamp() == null)
        .toList();
  }

  /** Waits until one pod of the app's version matches, and returns it. */
  Pod awaitPod(String app, String version, String what, Predicate<Pod> condition) {
    Pod[] found = new Pod[1];
    LocalCluster.await(
        "a pod of " + namespace + "/" + app + " " + version + " " + what,
        POD_START,
        () -> {
          for (Pod pod : pods(app, version)) {
            if (condition.test(pod)) {
              found[0] = pod;
              return true;
            }
          }
          return false;
        });
    return found[0];
  }

  Pod refresh(Pod pod) {
    return client.pods().inNamespace(namespace).withName(pod.getMetadata().getName()).get();
  }

  /** {@code kubectl describe pod}, as the person on call reads it. */
  String describe(Pod pod) {
    return Tools.kubectl(
            cluster.kubeconfig(), "-n", namespace, "describe", "pod", pod.getMetadata().getName())
        .requireSuccess()
        .stdout();
  }

  /** Fetches {@code url} from a pod in this namespace and returns the body. */
  String fetch(String url) {
    Pod fetcher = create(Workloads.fetcher(url));
    String name = fetcher.getMetadata().getName();
    LocalCluster.await(
        "pod " + name + " to fetch " + url,
        POD_START,
        () -> {
          Pod pod = client.pods().inNamespace(namespace).withName(name).get();
          String phase = pod.getStatus() == null ? "" : pod.getStatus().getPhase();
          return "Succeeded".equals(phase) || "Failed".equals(phase);
        });
    String phase = client.pods().inNamespace(namespace).withName(name).get().getStatus().getPhase();
    String body = client.pods().inNamespace(namespace).withName(name).getLog().strip();
    client.pods().inNamespace(namespace).withName(name).delete();
    if (!"Succeeded".equals(phase)) {
      throw new AssertionError("fetching " + url + " from a pod failed: " + body);
    }
    return body;
  }

  static String lower(String text) {
    return text.toLowerCase(Locale.ROOT);
  }

  @Override
  public void close() {
    client.namespaces().withName(namespace).delete();
  }
}
