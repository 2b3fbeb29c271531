package io.migrategate.e2e;

import io.fabric8.kubernetes.api.model.ContainerStatus;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodSchedulingGate;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.client.Watch;
import io.fabric8.kubernetes.client.Watcher;
import io.fabric8.kubernetes.client.WatcherException;
import io.migrategate.cluster.BuiltImages;
import io.migrategate.cluster.GateInstall;
import io.migrategate.cluster.LocalCluster;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Collectors;

/**
 * The waiter and the gate on the local real node ({@code benchmarks/real-pods/run}): what a pod
 * costs in time and memory when the waiter really runs in a container.
 *
 * <ol>
 *   <li><b>start, Job already Complete</b>: pods admitted while the Job is suspended (so the gate
 *       injects the waiter) and held by a scheduling gate; the Job completes; then each pod in turn
 *       is released, and its migrate-wait container's life is read from containerd's events, start
 *       to exit (the pod status has whole seconds only);
 *   <li><b>reaction</b>: a pod waits on a suspended Job; the Job is resumed; from the moment this
 *       process's watch sees the Job's {@code Complete} condition to containerd's exit event of the
 *       waiter (kubelet, runtime and the wait API's fan-out included). Each trial a new Job;
 *   <li><b>memory</b>: the waiter container's cgroup high-water mark ({@code
 *       memory.max_usage_in_bytes}, page cache included) during the reaction trials;
 *   <li><b>gate start</b>: the gate's container start (containerd) to its pod's Ready condition
 *       seen by the watch, over rollouts of the gate's Deployment.
 * </ol>
 *
 * Arguments: {@code [START_RUNS=20] [REACTION_TRIALS=20] [GATE_ROLLOUTS=3]}.
 */
public final class RealPodsBenchmark {
  private static final String HOLD = "migrate-gate.io/benchmark-hold";

  private RealPodsBenchmark() {}

  public static void main(String[] args) throws Exception {
    int startRuns = args.length > 0 ? Integer.parseInt(args[0]) : 20;
    int reactionTrials = args.length > 1 ? Integer.parseInt(args[1]) : 20;
    int gateRollouts = args.length > 2 ? Integer.parseInt(args[2]) : 3;
    LocalCluster local = LocalCluster.realNode();
    E2eCluster cluster = E2eCluster.get();
    cluster.loadImages(List.of(BuiltImages.webhook().archive(), BuiltImages.waiter().archive()));
    GateInstall gate = GateInstall.kustomize(cluster.client(), cluster.kubeconfig());
    try (RuntimeEvents events =
        new RuntimeEvents(local.stateDir().resolve("containerd/containerd.sock"))) {
      List<Double> starts = waiterStarts(cluster, events, startRuns);
      List<Double> peaks = new ArrayList<>();
      List<Double> reactions = reactions(cluster, events, reactionTrials, peaks);
      List<Double> gateStarts = gateStarts(cluster, events, gateRollouts);
      System.out.println("| measurement | n | p50 | p90 | p99 | max |");
      System.out.println("|---|---|---|---|---|---|");
      row("waiter container start → exit, Job already Complete (ms)", starts);
      row("reaction: Job Complete seen → waiter exit (ms)", reactions);
      row("waiter peak memory (cgroup max usage, MiB)", peaks);
      row("gate container start → pod Ready (ms)", gateStarts);
    } finally {
      gate.uninstall();
    }
    System.exit(0);
  }

  private static List<Double> waiterStarts(E2eCluster cluster, RuntimeEvents events, int runs) {
    List<Double> millis = new ArrayList<>();
    try (Scene scene = new Scene(cluster, "bench-start")) {
      scene.create(Workloads.job("migrate", "true", true));
      List<String> pods = new ArrayList<>();
      for (int i = 0; i < runs; i++) {
        Pod pod = heldPod("start-" + i, "migrate");
        pods.add(scene.create(pod).getMetadata().getName());
      }
      for (String name : pods) {
        Pod pod = scene.client.pods().inNamespace(scene.namespace).withName(name).get();
        if (!Workloads.injected(pod)) {
          throw new IllegalStateException("the gate did not inject " + name);
        }
      }
      scene.resume("migrate");
      scene.awaitJobCondition("migrate", "Complete");
      for (String name : pods) {
        scene
            .client
            .pods()
            .inNamespace(scene.namespace)
            .withName(name)
            .edit(
                p -> {
                  p.getSpec().setSchedulingGates(List.of());
                  return p;
                });
        String[] id = new String[1];
        LocalCluster.await(
            "pod " + name + ": migrate-wait exited",
            Scene.POD_START,
            () -> {
              Pod current = scene.client.pods().inNamespace(scene.namespace).withName(name).get();
              ContainerStatus waiter = Workloads.waiter(current).orElse(null);
              if (waiter == null || waiter.getContainerID() == null) {
                return false;
              }
              id[0] = waiter.getContainerID();
              return events.exited(id[0]).isPresent() && events.started(id[0]).isPresent();
            });
        millis.add(
            Duration.between(events.started(id[0]).get(), events.exited(id[0]).get()).toNanos()
                / 1e6);
        scene.client.pods().inNamespace(scene.namespace).withName(name).delete();
      }
    }
    return millis;
  }

  private static List<Double> reactions(
      E2eCluster cluster, RuntimeEvents events, int trials, List<Double> peaks) {
    List<Double> millis = new ArrayList<>();
    try (Scene scene = new Scene(cluster, "bench-react")) {
      Map<String, Instant> complete = new ConcurrentHashMap<>();
      Watch watch =
          scene
              .client
              .batch()
              .v1()
              .jobs()
              .inNamespace(scene.namespace)
              .watch(
                  new Watcher<Job>() {
                    @Override
                    public void eventReceived(Action action, Job job) {
                      if (job.getStatus() != null
                          && job.getStatus().getConditions() != null
                          && job.getStatus().getConditions().stream()
                              .anyMatch(
                                  c ->
                                      c.getType().equals("Complete")
                                          && c.getStatus().equals("True"))) {
                        complete.putIfAbsent(job.getMetadata().getName(), Instant.now());
                      }
                    }

                    @Override
                    public void onClose(WatcherException cause) {}
                  });
      try {
        for (int i = 0; i < trials; i++) {
          String job = "migrate-" + i;
          scene.create(Workloads.job(job, "true", true));
          Pod pod = scene.create(bare("react-" + i, job));
          String name = pod.getMetadata().getName();
          Pod waiting =
              awaitPod(
                  scene,
                  name,
                  "waiting and told the Job is suspended",
                  p ->
                      Workloads.waiterRunning(p)
                          && scene
                              .client
                              .pods()
                              .inNamespace(scene.namespace)
                              .withName(name)
                              .inContainer(Workloads.WAITER)
                              .getLog()
                              .contains("suspended"));
          String id = Workloads.waiter(waiting).orElseThrow().getContainerID();
          AtomicLong peak = new AtomicLong(-1);
          Thread sampler =
              new Thread(
                  () -> {
                    while (!Thread.currentThread().isInterrupted()) {
                      cluster
                          .peakMemoryBytes(id)
                          .ifPresent(v -> peak.accumulateAndGet(v, Math::max));
                      try {
                        Thread.sleep(50); // sampling a gauge
                      } catch (InterruptedException e) {
                        return;
                      }
                    }
                  });
          sampler.start();
          scene.resume(job);
          LocalCluster.await(
              "waiter of " + name + " exited",
              Scene.POD_START,
              () -> complete.containsKey(job) && events.exited(id).isPresent());
          sampler.interrupt();
          sampler.join();
          millis.add(Duration.between(complete.get(job), events.exited(id).get()).toNanos() / 1e6);
          if (peak.get() > 0) {
            peaks.add(peak.get() / 1024.0 / 1024.0);
          }
          scene.client.pods().inNamespace(scene.namespace).withName(name).delete();
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      } finally {
        watch.close();
      }
    }
    return millis;
  }

  private static List<Double> gateStarts(E2eCluster cluster, RuntimeEvents events, int rollouts) {
    List<Double> millis = new ArrayList<>();
    var client = cluster.client();
    Map<String, Instant> ready = new ConcurrentHashMap<>();
    Watch watch =
        client
            .pods()
            .inNamespace(GateInstall.NAMESPACE)
            .watch(
                new Watcher<Pod>() {
                  @Override
                  public void eventReceived(Action action, Pod pod) {
                    if (Workloads.ready(pod)) {
                      ready.putIfAbsent(pod.getMetadata().getName(), Instant.now());
                    }
                  }

                  @Override
                  public void onClose(WatcherException cause) {}
                });
    try {
      for (int i = 0; i < rollouts; i++) {
        Set<String> before =
            new java.util.HashSet<>(
                client.pods().inNamespace(GateInstall.NAMESPACE).list().getItems().stream()
                    .map(p -> p.getMetadata().getName())
                    .toList());
        client
            .apps()
            .deployments()
            .inNamespace(GateInstall.NAMESPACE)
            .withName(GateInstall.NAME)
            .rolling()
            .restart();
        LocalCluster.await(
            "the gate's rollout " + (i + 1),
            Duration.ofMinutes(3),
            () -> {
              List<Pod> pods = gate(client, before);
              return pods.size() == 2
                  && pods.stream().allMatch(Workloads::ready)
                  && client.pods().inNamespace(GateInstall.NAMESPACE).list().getItems().size() == 2;
            });
        for (Pod pod : gate(client, before)) {
          String id = pod.getStatus().getContainerStatuses().get(0).getContainerID();
          Instant started = events.started(id).orElseThrow();
          millis.add(
              Duration.between(started, ready.get(pod.getMetadata().getName())).toNanos() / 1e6);
        }
      }
    } finally {
      watch.close();
    }
    return millis;
  }

  private static List<Pod> gate(
      io.fabric8.kubernetes.client.KubernetesClient client, Set<String> before) {
    return client.pods().inNamespace(GateInstall.NAMESPACE).list().getItems().stream()
        .filter(p -> !before.contains(p.getMetadata().getName()))
        .filter(p -> p.getMetadata().getDeletionTimestamp() == null)
        .collect(Collectors.toList());
  }

  /** An annotated bare pod (the app container only sleeps), held before scheduling. */
  private static Pod heldPod(String name, String job) {
    Pod pod = bare(name, job);
    pod.getSpec().setSchedulingGates(List.of(new PodSchedulingGate(HOLD)));
    return pod;
  }

  private static Pod bare(String name, String job) {
    Deployment template = Workloads.app("bench", "v1", 1, Map.of("migrate.io/job", job));
    Pod pod = new Pod();
    pod.setMetadata(template.getSpec().getTemplate().getMetadata());
    pod.getMetadata().setName(name);
    pod.setSpec(template.getSpec().getTemplate().getSpec());
    pod.getSpec().setRestartPolicy("Never");
    pod.getSpec().getContainers().get(0).setCommand(List.of("sleep", "3600"));
    pod.getSpec().getContainers().get(0).setReadinessProbe(null);
    return pod;
  }

  private static Pod awaitPod(
      Scene scene, String name, String what, java.util.function.Predicate<Pod> condition) {
    Pod[] found = new Pod[1];
    LocalCluster.await(
        "pod " + name + " " + what,
        Scene.POD_START,
        () -> {
          Pod pod = scene.client.pods().inNamespace(scene.namespace).withName(name).get();
          if (pod != null && condition.test(pod)) {
            found[0] = pod;
            return true;
          }
          return false;
        });
    return found[0];
  }

  private static void row(String what, List<Double> values) {
    if (values.isEmpty()) {
      System.out.println("| " + what + " | 0 | | | | |");
      return;
    }
    List<Double> sorted = new ArrayList<>(values);
    Collections.sort(sorted);
    System.out.println(
        String.format(
            Locale.ROOT,
            "| %s | %d | %.0f | %.0f | %.0f | %.0f |",
            what,
            sorted.size(),
            percentile(sorted, 50),
            percentile(sorted, 90),
            percentile(sorted, 99),
            sorted.get(sorted.size() - 1)));
  }

  private static double percentile(List<Double> sorted, int p) {
    int index = (int) Math.ceil(p / 100.0 * sorted.size()) - 1;
    return sorted.get(Math.max(0, Math.min(sorted.size() - 1, index)));
  }
}
