package io.migrategate.demo;

import io.fabric8.kubernetes.api.model.ContainerStatus;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.LogWatch;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import io.migrategate.core.JobVerdict;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Watches the demo namespace and prints every state transition of the shop's pods and of the
 * migration Jobs, and remembers when each was first seen so the scenario can check the order of
 * events (a pod released only after its Job succeeded).
 */
final class Observer implements AutoCloseable {
  private final KubernetesClient client;
  private final String namespace;
  private final LiveView view;
  private final Map<String, String> podStates = new ConcurrentHashMap<>();
  private final Map<String, String> jobStates = new ConcurrentHashMap<>();
  private final Map<String, Long> firstReady = new ConcurrentHashMap<>();
  private final Map<String, Long> jobSucceeded = new ConcurrentHashMap<>();
  private final List<SharedIndexInformer<?>> informers = new ArrayList<>();

  /** migrate-wait containers whose log is followed, by container ID (a restart is a new one). */
  private final Map<String, LogWatch> waiterLogs = new ConcurrentHashMap<>();

  Observer(KubernetesClient client, String namespace, LiveView view) {
    this.client = client;
    this.namespace = namespace;
    this.view = view;
  }

  void start() {
    informers.add(
        client
            .pods()
            .inNamespace(namespace)
            .withLabel("app", ShopScenario.APP)
            .inform(
                new ResourceEventHandler<>() {
                  @Override
                  public void onAdd(Pod pod) {
                    String status = annotation(pod, ShopScenario.STATUS).orElse("(none)");
                    boolean hasWaiter = hasWaiter(pod);
                    view.line(
                        LiveView.Kind.POD,
                        ShopScenario.display(pod),
                        "created by the ReplicaSet; the gate answered migrate.io/status: "
                            + status
                            + (hasWaiter
                                ? " (init container migrate-wait added)"
                                : " (nothing injected)"));
                    podChanged(pod);
                  }

                  @Override
                  public void onUpdate(Pod old, Pod pod) {
                    podChanged(pod);
                  }

                  @Override
                  public void onDelete(Pod pod, boolean unknownFinalState) {
                    podStates.remove(pod.getMetadata().getUid());
                    view.line(LiveView.Kind.POD, ShopScenario.display(pod), "deleted");
                  }
                }));
    informers.add(
        client
            .batch()
            .v1()
            .jobs()
            .inNamespace(namespace)
            .inform(
                new ResourceEventHandler<>() {
                  @Override
                  public void onAdd(Job job) {
                    jobChanged(job);
                  }

                  @Override
                  public void onUpdate(Job old, Job job) {
                    jobChanged(job);
                  }

                  @Override
                  public void onDelete(Job job, boolean unknownFinalState) {
                    jobStates.remove(job.getMetadata().getUid());
                    view.line(LiveView.Kind.JOB, job.getMetadata().getName(), "deleted");
                  }
                }));
  }

  /** When the pod was first seen Ready (System.nanoTime), if it was. */
  Optional<Long> firstReady(String pod) {
    return Optional.ofNullable(firstReady.get(pod));
  }

  /** When the Job was first seen succeeded (System.nanoTime), if it was. */
  Optional<Long> jobSucceeded(String job) {
    return Optional.ofNullable(jobSucceeded.get(job));
  }

  @Override
  public void close() {
    informers.forEach(SharedIndexInformer::close);
    waiterLogs.values().forEach(LogWatch::close);
  }

  /**
   * Prints what migrate-wait says, line by line, from the moment its container runs: the waiter's
   * own log through the kubelet, as {@code kubectl logs -f -c migrate-wait} shows it.
   */
  private void followWaiter(Pod pod) {
    Optional<ContainerStatus> status = waiterStatus(pod);
    if (status.isEmpty()
        || status.get().getContainerID() == null
        || status.get().getState() == null
        || status.get().getState().getRunning() == null) {
      return;
    }
    String containerId = status.get().getContainerID();
    if (waiterLogs.containsKey(containerId)) {
      return;
    }
    String who = ShopScenario.display(pod);
    LogWatch log =
        client
            .pods()
            .inNamespace(namespace)
            .withName(pod.getMetadata().getName())
            .inContainer(ShopScenario.WAITER)
            .watchLog();
    waiterLogs.put(containerId, log);
    Thread reader =
        new Thread(
            () -> {
              try (BufferedReader lines =
                  new BufferedReader(
                      new InputStreamReader(log.getOutput(), StandardCharsets.UTF_8))) {
                for (String line = lines.readLine(); line != null; line = lines.readLine()) {
                  if (!line.isBlank()) {
                    view.line(LiveView.Kind.WAITER, who, LogLine.waiterSummary(line));
                  }
                }
              } catch (IOException e) {
                // the container ended or the demo is closing: nothing more to print
              }
            },
            "waiter-log");
    reader.setDaemon(true);
    reader.start();
  }

  private void podChanged(Pod pod) {
    followWaiter(pod);
    String state = describe(pod);
    String previous = podStates.put(pod.getMetadata().getUid(), state);
    if (isReady(pod)) {
      firstReady.putIfAbsent(pod.getMetadata().getName(), System.nanoTime());
    }
    // Pending and Terminating last milliseconds under kwok: the table shows them, the view skips.
    boolean fleeting = state.equals("Pending") || state.equals("Terminating");
    if (!state.equals(previous) && !fleeting) {
      LiveView.Kind kind = state.startsWith("Init:Error") ? LiveView.Kind.FAIL : LiveView.Kind.POD;
      view.line(kind, ShopScenario.display(pod), state);
    }
  }

  private void jobChanged(Job job) {
    JobVerdict verdict = Verdicts.of(job);
    // One line per phase: the conditions of one outcome arrive in steps (FailureTarget, Failed).
    String state =
        verdict.phase() == JobVerdict.Phase.RUNNING ? verdict.line() : verdict.phase().name();
    String previous = jobStates.put(job.getMetadata().getUid(), state);
    if (verdict.phase() == JobVerdict.Phase.SUCCEEDED) {
      jobSucceeded.putIfAbsent(job.getMetadata().getName(), System.nanoTime());
    }
    if (!state.equals(previous)) {
      LiveView.Kind kind =
          switch (verdict.phase()) {
            case SUCCEEDED -> LiveView.Kind.OK;
            case FAILED -> LiveView.Kind.FAIL;
            default -> LiveView.Kind.JOB;
          };
      view.line(
          kind,
          job.getMetadata().getName(),
          (previous == null ? "created: " : "") + verdict.line());
    }
  }

  /** One line, like a friendlier {@code kubectl get pod} STATUS column. */
  static String describe(Pod pod) {
    if (pod.getMetadata().getDeletionTimestamp() != null) {
      return "Terminating";
    }
    boolean injected = hasWaiter(pod);
    Optional<ContainerStatus> waiter = waiterStatus(pod);
    if (waiter.isPresent() && waiter.get().getState() != null) {
      var terminated = waiter.get().getState().getTerminated();
      if (terminated == null && waiter.get().getLastState() != null) {
        terminated = waiter.get().getLastState().getTerminated();
      }
      if (terminated != null && terminated.getExitCode() != null && terminated.getExitCode() != 0) {
        return "Init:Error, migrate-wait exit code "
            + terminated.getExitCode()
            + ": "
            + Optional.ofNullable(terminated.getMessage()).orElse("").strip();
      }
    }
    String phase = Optional.ofNullable(pod.getStatus()).map(s -> s.getPhase()).orElse("Pending");
    if ("Running".equals(phase)) {
      if (isReady(pod)) {
        return injected ? "Running, Ready: released by migrate-wait" : "Running, Ready";
      }
      return "Running, not ready";
    }
    if ("Pending".equals(phase) && injected) {
      return waiter
              .map(w -> w.getState() != null && w.getState().getRunning() != null)
              .orElse(false)
          ? "Init:0/1, migrate-wait running: held"
          : "Pending";
    }
    return phase;
  }

  static boolean isReady(Pod pod) {
    return pod.getStatus() != null
        && pod.getStatus().getConditions() != null
        && pod.getStatus().getConditions().stream()
            .anyMatch(c -> "Ready".equals(c.getType()) && "True".equals(c.getStatus()));
  }

  static boolean hasWaiter(Pod pod) {
    return Optional.ofNullable(pod.getSpec().getInitContainers()).orElse(List.of()).stream()
        .anyMatch(c -> ShopScenario.WAITER.equals(c.getName()));
  }

  static Optional<ContainerStatus> waiterStatus(Pod pod) {
    if (pod.getStatus() == null || pod.getStatus().getInitContainerStatuses() == null) {
      return Optional.empty();
    }
    return pod.getStatus().getInitContainerStatuses().stream()
        .filter(s -> ShopScenario.WAITER.equals(s.getName()))
        .findFirst();
  }

  static Optional<String> annotation(Pod pod, String key) {
    return Optional.ofNullable(pod.getMetadata().getAnnotations()).map(a -> a.get(key));
  }
}
