package io.migrategate.gate.admission;

import com.fasterxml.jackson.databind.JsonNode;
import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.api.model.EventBuilder;
import io.fabric8.kubernetes.api.model.ListOptionsBuilder;
import io.fabric8.kubernetes.api.model.OwnerReference;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodList;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.batch.v1.JobCondition;
import io.fabric8.kubernetes.api.model.batch.v1.JobList;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import io.migrategate.core.Backoff;
import io.migrategate.gate.kube.ReconcileLoop;
import io.migrategate.gate.observability.PrometheusText;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Predicate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The safety net of fail-open namespaces: now and then, lists the pods of the namespaces that have
 * workloads annotated on their own metadata, and reports those that started without {@code
 * migrate-wait} ({@link UngatedPods}) as a Warning Event on the workload, once per set of pods.
 * Annotated workloads never start un-gated silently.
 *
 * <p>Needs RBAC: list pods (cluster-wide, read in the namespaces above only) and create events.
 */
public final class UngatedPodAuditor implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(UngatedPodAuditor.class);
  private static final KubernetesSerialization SERIALIZATION = new KubernetesSerialization();

  /** Event reason, for {@code kubectl get events --field-selector reason=PodsNotGated}. */
  public static final String EVENT_REASON = "PodsNotGated";

  private static final long PAGE_SIZE = 500;
  private static final Duration FIRST_PASS_DELAY = Duration.ofSeconds(30);

  private final KubernetesClient client;
  private final KubernetesOwnerLookup owners;
  private final UngatedPods finder;
  private final Predicate<String> excludedNamespace;
  private final String instance;
  private final AtomicLong passes = new AtomicLong();
  private final AtomicLong eventsCreated = new AtomicLong();
  private volatile int ungatedPods;
  private volatile boolean lastPassFailed;
  private ReconcileLoop loop;

  /**
   * @param client reads pods and writes events
   * @param owners the reviewer's owner lookup: its caches say where annotated workloads are
   * @param excludedNamespace namespaces the gate never touches (its own, kube-system, ...)
   */
  public UngatedPodAuditor(
      KubernetesClient client, KubernetesOwnerLookup owners, Predicate<String> excludedNamespace) {
    this(client, owners, excludedNamespace, Optional.empty());
  }

  /**
   * An audit that also knows the gate's waiter: a {@code migrate-wait} of another image repository
   * (say a busybox named so), or asking another URL than {@code waitUrl}, is not the gate's. The
   * gate wires this one; without it only the waiter's shape, environment and mounts are checked.
   *
   * @param waiterImage the gate's {@code --waiter-image}
   * @param waitUrl the gate's {@code --wait-url}, if set
   */
  public UngatedPodAuditor(
      KubernetesClient client,
      KubernetesOwnerLookup owners,
      Predicate<String> excludedNamespace,
      String waiterImage,
      Optional<String> waitUrl) {
    this(
        client,
        owners,
        excludedNamespace,
        Optional.of(new InjectedWaiter.Identity(waiterImage, waitUrl)));
  }

  private UngatedPodAuditor(
      KubernetesClient client,
      KubernetesOwnerLookup owners,
      Predicate<String> excludedNamespace,
      Optional<InjectedWaiter.Identity> waiter) {
    this.client = client;
    this.owners = owners;
    this.finder = new UngatedPods(owners, waiter);
    this.excludedNamespace = excludedNamespace;
    this.instance = hostname();
  }

  /**
   * Runs a pass every {@code interval}; the first within 30 s, so that a gate coming back after an
   * outage reports what started during it.
   */
  public synchronized void start(Duration interval) {
    loop =
        new ReconcileLoop(
            "migrate-gate-ungated-pod-audit",
            new Backoff(interval, interval),
            e -> LOG.warn("ungated pod audit state=failing cause=\"{}\"", e.toString()));
    loop.start(
        () -> {
          passQuietly();
          return interval;
        },
        interval.compareTo(FIRST_PASS_DELAY) < 0 ? interval : FIRST_PASS_DELAY);
  }

  /** Completed passes, successful or not. */
  public long passes() {
    return passes.get();
  }

  /** Prometheus text of the auditor's state. */
  public String renderMetrics() {
    return new PrometheusText()
        .gauge(
            "migrate_gate_ungated_pods",
            "Pods of workloads annotated with migrate.io/job that started without migrate-wait,"
                + " found by the last audit pass.",
            ungatedPods)
        .counter(
            "migrate_gate_ungated_pod_events_total",
            "Warning Events created about un-gated pods.",
            eventsCreated.get())
        .counter("migrate_gate_ungated_pod_audit_passes_total", "Audit passes run.", passes.get())
        .gauge(
            "migrate_gate_ungated_pod_audit_failing",
            "Whether the last audit pass failed.",
            lastPassFailed ? 1 : 0)
        .toString();
  }

  private void passQuietly() {
    try {
      auditOnce();
      if (lastPassFailed) {
        LOG.info("ungated pod audit state=ok");
      }
      lastPassFailed = false;
    } catch (RuntimeException e) {
      if (!lastPassFailed) {
        LOG.warn("ungated pod audit state=failing cause=\"{}\"", e.getMessage());
      }
      lastPassFailed = true;
    } finally {
      passes.incrementAndGet();
    }
  }

  /**
   * One pass: every namespace with annotated workloads, every finding reported once.
   *
   * @return the un-gated pods found; none while the owner caches have not synced (they would not
   *     know every annotated workload yet)
   * @throws KubernetesClientException when the API server refuses or cannot be reached
   */
  public int auditOnce() {
    if (!owners.hasSynced()) {
      return 0;
    }
    int found = 0;
    for (String namespace : owners.namespacesWithAnnotatedWorkloads()) {
      if (excludedNamespace.test(namespace)) {
        continue;
      }
      List<UngatedPods.Finding> findings =
          finder.find(namespace, pods(namespace), new NamespaceJobs(client, namespace));
      for (UngatedPods.Finding finding : findings) {
        found += finding.pods().size();
        report(finding);
      }
    }
    ungatedPods = found;
    return found;
  }

  /** The namespace's workload pods that {@link UngatedPods#candidate} leaves as candidates. */
  private List<JsonNode> pods(String namespace) {
    List<JsonNode> pods = new ArrayList<>();
    String next = null;
    do {
      PodList page =
          client
              .pods()
              .inNamespace(namespace)
              .list(new ListOptionsBuilder().withLimit(PAGE_SIZE).withContinue(next).build());
      for (Pod pod : page.getItems()) {
        // Only the candidates become JSON trees: workload pods that do not carry migrate.io/job
        // themselves.
        if (ownedByWorkload(pod) && UngatedPods.candidate(pod.getMetadata().getAnnotations())) {
          pods.add(SERIALIZATION.convertValue(pod, JsonNode.class));
        }
      }
      next = page.getMetadata() == null ? null : page.getMetadata().getContinue();
    } while (next != null && !next.isEmpty());
    return pods;
  }

  private static boolean ownedByWorkload(Pod pod) {
    List<OwnerReference> owners = pod.getMetadata().getOwnerReferences();
    return owners != null
        && owners.stream()
            .anyMatch(
                owner ->
                    Boolean.TRUE.equals(owner.getController())
                        && owner.getApiVersion() != null
                        && owner.getApiVersion().startsWith("apps/"));
  }

  /**
   * The namespace's Jobs, listed once when a pod's {@code skipped: job-succeeded} is checked (the
   * gate's RBAC has {@code list} on Jobs for its Job tracker).
   */
  private static final class NamespaceJobs implements UngatedPods.Jobs {
    private final KubernetesClient client;
    private final String namespace;
    private Map<String, UngatedPods.JobRecord> jobs;

    NamespaceJobs(KubernetesClient client, String namespace) {
      this.client = client;
      this.namespace = namespace;
    }

    @Override
    public Optional<UngatedPods.JobRecord> find(String namespace, String name) {
      if (!this.namespace.equals(namespace)) {
        return Optional.empty();
      }
      if (jobs == null) {
        jobs = new HashMap<>();
        String next = null;
        do {
          JobList page =
              client
                  .batch()
                  .v1()
                  .jobs()
                  .inNamespace(namespace)
                  .list(new ListOptionsBuilder().withLimit(PAGE_SIZE).withContinue(next).build());
          for (Job job : page.getItems()) {
            record(job).ifPresent(r -> jobs.put(job.getMetadata().getName(), r));
          }
          next = page.getMetadata() == null ? null : page.getMetadata().getContinue();
        } while (next != null && !next.isEmpty());
      }
      return Optional.ofNullable(jobs.get(name));
    }

    private static Optional<UngatedPods.JobRecord> record(Job job) {
      Optional<Instant> created = instant(job.getMetadata().getCreationTimestamp());
      if (created.isEmpty()) {
        return Optional.empty();
      }
      Optional<Instant> succeeded = Optional.empty();
      boolean success = false;
      List<JobCondition> conditions =
          job.getStatus() == null || job.getStatus().getConditions() == null
              ? List.of()
              : job.getStatus().getConditions();
      for (JobCondition condition : conditions) {
        if (("SuccessCriteriaMet".equals(condition.getType())
                || "Complete".equals(condition.getType()))
            && "True".equals(condition.getStatus())) {
          success = true;
          Optional<Instant> at = instant(condition.getLastTransitionTime());
          if (at.isPresent() && (succeeded.isEmpty() || at.get().isBefore(succeeded.get()))) {
            succeeded = at;
          }
        }
      }
      if (success && succeeded.isEmpty()) {
        succeeded = instant(job.getStatus().getCompletionTime());
        if (succeeded.isEmpty()) {
          return Optional.empty(); // succeeded, but when is unknown: nothing to check against
        }
      }
      Map<String, String> annotations = job.getMetadata().getAnnotations();
      Optional<String> revision =
          Optional.ofNullable(
              annotations == null ? null : annotations.get(GateAnnotations.REVISION));
      return Optional.of(new UngatedPods.JobRecord(created.get(), succeeded, revision));
    }

    private static Optional<Instant> instant(String timestamp) {
      try {
        return timestamp == null || timestamp.isEmpty()
            ? Optional.empty()
            : Optional.of(Instant.parse(timestamp));
      } catch (DateTimeParseException e) {
        return Optional.empty();
      }
    }
  }

  private void report(UngatedPods.Finding finding) {
    String now = Instant.now().toString();
    OwnerRef workload = finding.workload();
    Event event =
        new EventBuilder()
            .withNewMetadata()
            .withName(finding.eventName())
            .withNamespace(finding.namespace())
            .endMetadata()
            .withNewInvolvedObject()
            .withApiVersion(workload.apiVersion())
            .withKind(workload.kind())
            .withName(workload.name())
            .withNamespace(finding.namespace())
            .withUid(workload.uid().isEmpty() ? null : workload.uid())
            .endInvolvedObject()
            .withType("Warning")
            .withReason(EVENT_REASON)
            .withMessage(finding.message())
            .withNewSource()
            .withComponent("migrate-gate")
            .endSource()
            .withReportingComponent("migrate-gate")
            .withReportingInstance(instance)
            .withFirstTimestamp(now)
            .withLastTimestamp(now)
            .withCount(1)
            .build();
    try {
      client.v1().events().inNamespace(finding.namespace()).resource(event).create();
    } catch (KubernetesClientException e) {
      if (e.getCode() == 409) {
        return; // reported already, by this replica or another
      }
      throw e;
    }
    eventsCreated.incrementAndGet();
    LOG.warn(
        "ungated pods found namespace={} workload={}/{} pods={} event={}",
        finding.namespace(),
        workload.kind(),
        workload.name(),
        finding.pods().size(),
        finding.eventName());
  }

  private static String hostname() {
    String fromEnv = System.getenv("HOSTNAME");
    if (fromEnv != null && !fromEnv.isBlank()) {
      return fromEnv;
    }
    try {
      return InetAddress.getLocalHost().getHostName();
    } catch (UnknownHostException e) {
      return "migrate-gate";
    }
  }

  @Override
  public synchronized void close() {
    if (loop != null) {
      // A pass in progress is interrupted, as before: its API calls could outlast the stop
      // deadline, and the next gate audits again anyway.
      loop.close(Duration.ZERO);
    }
  }
}
