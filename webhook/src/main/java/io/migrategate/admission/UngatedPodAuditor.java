package io.migrategate.admission;

import com.fasterxml.jackson.databind.JsonNode;
import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.api.model.EventBuilder;
import io.fabric8.kubernetes.api.model.ListOptionsBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodList;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import io.migrategate.metrics.PrometheusText;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
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
  private ScheduledExecutorService schedule;

  /**
   * @param client reads pods and writes events
   * @param owners the reviewer's owner lookup: its caches say where annotated workloads are
   * @param excludedNamespace namespaces the gate never touches (its own, kube-system, ...)
   */
  public UngatedPodAuditor(
      KubernetesClient client, KubernetesOwnerLookup owners, Predicate<String> excludedNamespace) {
    this.client = client;
    this.owners = owners;
    this.finder = new UngatedPods(owners);
    this.excludedNamespace = excludedNamespace;
    this.instance = hostname();
  }

  /**
   * Runs a pass every {@code interval}; the first within 30 s, so that a gate coming back after an
   * outage reports what started during it.
   */
  public synchronized void start(Duration interval) {
    schedule =
        Executors.newSingleThreadScheduledExecutor(
            runnable -> {
              Thread thread = new Thread(runnable, "migrate-gate-ungated-pod-audit");
              thread.setDaemon(true);
              return thread;
            });
    long millis = interval.toMillis();
    long first = Math.min(millis, FIRST_PASS_DELAY.toMillis());
    schedule.scheduleWithFixedDelay(this::passQuietly, first, millis, TimeUnit.MILLISECONDS);
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
      for (UngatedPods.Finding finding : finder.find(namespace, pods(namespace))) {
        found += finding.pods().size();
        report(finding);
      }
    }
    ungatedPods = found;
    return found;
  }

  /** The namespace's pods that {@link UngatedPods#unreviewed} leaves as candidates. */
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
        // Only the candidates become JSON trees: nearly every pod carries the gate's status.
        if (UngatedPods.unreviewed(pod.getMetadata().getAnnotations())) {
          pods.add(SERIALIZATION.convertValue(pod, JsonNode.class));
        }
      }
      next = page.getMetadata() == null ? null : page.getMetadata().getContinue();
    } while (next != null && !next.isEmpty());
    return pods;
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
    if (schedule != null) {
      schedule.shutdownNow();
    }
  }
}
