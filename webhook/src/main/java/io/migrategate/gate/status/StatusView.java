package io.migrategate.gate.status;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerState;
import io.fabric8.kubernetes.api.model.ContainerStatus;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.OwnerReference;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.migrategate.core.JobVerdict;
import io.migrategate.gate.admission.GateAnnotations;
import io.migrategate.gate.admission.WaiterContainer;
import io.migrategate.gate.jobs.CompactJobs;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * Who waits on what, from the objects as the API server has them: every pod the gate injected,
 * skipped or should have seen (its workload carries {@code migrate.io/job}), with the Jobs it waits
 * on, each Job's verdict ({@link JobVerdict}, the waiter's own rule) and how long it has waited. A
 * pure function of the lists, so its tests need no cluster.
 */
final class StatusView {
  /**
   * What the cluster holds in the namespaces asked about (workloads: ReplicaSets and their owners).
   */
  record Cluster(List<Pod> pods, List<HasMetadata> workloads, List<Job> jobs) {}

  /** One pod. {@code waited} is empty when it never waited (skipped, un-gated). */
  record PodStatus(
      String namespace,
      String workload,
      String pod,
      String gate,
      String state,
      Optional<Duration> waited,
      List<JobStatus> jobs) {}

  /** One Job a pod waits on: {@code verdict} is the waiter's line, or why there is none. */
  record JobStatus(String name, String phase, String verdict) {}

  static final String NOT_FOUND = "not found";

  private StatusView() {}

  static List<PodStatus> of(Cluster cluster, Instant now) {
    // Indexed once: with -A a cluster's pods would otherwise each scan every workload and Job.
    Map<String, HasMetadata> workloadsByUid = new HashMap<>();
    cluster.workloads().forEach(w -> workloadsByUid.put(w.getMetadata().getUid(), w));
    Map<String, Job> jobsByKey = new HashMap<>();
    cluster
        .jobs()
        .forEach(
            j -> jobsByKey.put(key(j.getMetadata().getNamespace(), j.getMetadata().getName()), j));
    List<PodStatus> rows = new ArrayList<>();
    for (Pod pod : cluster.pods()) {
      Optional<HasMetadata> workload = workloadOf(pod, workloadsByUid);
      Map<String, String> podAnnotations = annotations(pod);
      String status = podAnnotations.get(GateAnnotations.STATUS);
      Optional<Container> waiter = waiterOf(pod);
      Optional<String> annotatedJobs =
          Optional.ofNullable(podAnnotations.get(GateAnnotations.JOB))
              .or(() -> workload.map(w -> annotations(w).get(GateAnnotations.JOB)));
      if (waiter.isEmpty() && annotatedJobs.isEmpty()) {
        continue; // waits on nothing (the gate may have marked it skipped: no-annotation)
      }
      String namespace = pod.getMetadata().getNamespace();
      String workloadName =
          workload.map(w -> w.getKind() + "/" + w.getMetadata().getName()).orElse("Pod");
      List<String> jobNames;
      Optional<String> revision;
      if (waiter.isPresent()) {
        jobNames = split(env(waiter.get(), "MIGRATE_GATE_JOBS").orElse(""));
        revision = env(waiter.get(), "MIGRATE_GATE_REVISION");
      } else {
        jobNames = split(annotatedJobs.orElse(""));
        revision = Optional.empty();
      }
      List<JobStatus> jobs =
          jobNames.stream()
              .map(name -> jobStatus(name, revision, jobsByKey.get(key(namespace, name))))
              .toList();
      Instant created = Instant.parse(pod.getMetadata().getCreationTimestamp());
      if (waiter.isEmpty()) {
        String gate = status == null ? "un-gated" : status;
        String state =
            status == null
                ? "started without "
                    + WaiterContainer.NAME
                    + " (created while the gate was"
                    + " unavailable, or its namespace is not served)"
                : phase(pod);
        rows.add(
            new PodStatus(namespace, workloadName, name(pod), gate, state, Optional.empty(), jobs));
        continue;
      }
      Optional<ContainerStatus> waiterStatus = waiterStatusOf(pod);
      String state = waiterState(waiterStatus);
      Optional<Duration> waited =
          Optional.of(
              Duration.between(
                  created,
                  waiterStatus
                      .map(ContainerStatus::getState)
                      .map(ContainerState::getTerminated)
                      .filter(t -> t.getFinishedAt() != null)
                      .map(t -> Instant.parse(t.getFinishedAt()))
                      .orElse(now)));
      rows.add(
          new PodStatus(
              namespace,
              workloadName,
              name(pod),
              status == null ? "injected" : status,
              state,
              waited.filter(d -> !d.isNegative()),
              jobs));
    }
    rows.sort(
        Comparator.comparing(PodStatus::namespace)
            .thenComparing(PodStatus::workload)
            .thenComparing(PodStatus::pod));
    return rows;
  }

  /** The verdict on Job {@code name}, read as {@code job} (null: not found). */
  private static JobStatus jobStatus(String name, Optional<String> revision, Job job) {
    if (job == null) {
      return new JobStatus(
          name,
          NOT_FOUND,
          "not found (not created yet, or deleted: after a success the gate's ledger still lets"
              + " new pods pass)");
    }
    JobVerdict verdict = JobVerdict.of(CompactJobs.snapshot(job), revision.orElse(null));
    return new JobStatus(name, verdict.phase().name().toLowerCase(), verdict.line());
  }

  /** What migrate-wait is doing, as a person would say it. */
  private static String waiterState(Optional<ContainerStatus> status) {
    if (status.isEmpty() || status.get().getState() == null) {
      return "pending (not started)";
    }
    ContainerState state = status.get().getState();
    if (state.getTerminated() != null) {
      Integer exit = state.getTerminated().getExitCode();
      if (exit != null && exit == 0) {
        return "released";
      }
      return "failed (exit " + exit + ")" + message(state.getTerminated().getMessage());
    }
    ContainerState last = status.get().getLastState();
    if (last != null && last.getTerminated() != null) {
      Integer exit = last.getTerminated().getExitCode();
      return "failed (exit " + exit + "), restarting" + message(last.getTerminated().getMessage());
    }
    if (state.getRunning() != null) {
      return "waiting";
    }
    return "starting"
        + (state.getWaiting() == null || state.getWaiting().getReason() == null
            ? ""
            : " (" + state.getWaiting().getReason() + ")");
  }

  private static String message(String message) {
    return message == null || message.isBlank()
        ? ""
        : ": " + message.strip().lines().findFirst().orElse("");
  }

  private static String phase(Pod pod) {
    return pod.getStatus() == null || pod.getStatus().getPhase() == null
        ? "Pending"
        : pod.getStatus().getPhase();
  }

  /**
   * The workload that governs the pod: a ReplicaSet's Deployment when it has one, else the
   * controller itself (ReplicaSet, StatefulSet, DaemonSet).
   */
  private static Optional<HasMetadata> workloadOf(Pod pod, Map<String, HasMetadata> workloads) {
    Optional<HasMetadata> controller = controllerOf(pod, workloads);
    if (controller.isPresent() && controller.get().getKind().equals("ReplicaSet")) {
      return controllerOf(controller.get(), workloads).or(() -> controller);
    }
    return controller;
  }

  private static Optional<HasMetadata> controllerOf(
      HasMetadata object, Map<String, HasMetadata> workloadsByUid) {
    List<OwnerReference> owners = object.getMetadata().getOwnerReferences();
    if (owners == null) {
      return Optional.empty();
    }
    return owners.stream()
        .filter(o -> Boolean.TRUE.equals(o.getController()))
        .findFirst()
        .map(owner -> workloadsByUid.get(owner.getUid()));
  }

  private static String key(String namespace, String name) {
    return namespace + "/" + name;
  }

  private static Optional<Container> waiterOf(Pod pod) {
    return pod.getSpec() == null || pod.getSpec().getInitContainers() == null
        ? Optional.empty()
        : pod.getSpec().getInitContainers().stream()
            .filter(c -> WaiterContainer.NAME.equals(c.getName()))
            .findFirst();
  }

  private static Optional<ContainerStatus> waiterStatusOf(Pod pod) {
    return pod.getStatus() == null || pod.getStatus().getInitContainerStatuses() == null
        ? Optional.empty()
        : pod.getStatus().getInitContainerStatuses().stream()
            .filter(c -> WaiterContainer.NAME.equals(c.getName()))
            .findFirst();
  }

  private static Optional<String> env(Container container, String name) {
    return container.getEnv() == null
        ? Optional.empty()
        : container.getEnv().stream()
            .filter(e -> name.equals(e.getName()))
            .map(EnvVar::getValue)
            .filter(Objects::nonNull)
            .findFirst();
  }

  private static List<String> split(String jobs) {
    return Arrays.stream(jobs.split(","))
        .map(String::strip)
        .filter(s -> !s.isEmpty())
        .distinct()
        .toList();
  }

  private static Map<String, String> annotations(HasMetadata object) {
    Map<String, String> annotations = object.getMetadata().getAnnotations();
    return annotations == null ? Map.of() : annotations;
  }

  private static String name(Pod pod) {
    return pod.getMetadata().getName();
  }
}
