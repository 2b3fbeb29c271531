package io.migrategate.jobs;

import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import io.migrategate.kube.KubernetesClients;
import io.migrategate.ledger.ConfigMapSuccessLedger;
import io.migrategate.ledger.LedgerPolicy;
import java.time.Clock;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The gate's Job tracking against the API server: one cluster-wide Job informer (list and watch,
 * read-only) feeding a {@link JobTracker}, and the ConfigMap-backed success ledger in the gate's
 * namespace. Starting never waits for the API server; {@link JobTracker#isReady()} says when both
 * have been read.
 *
 * <p>RBAC: list, watch on jobs.batch cluster-wide (list also confirms a success before a pod passes
 * on it, {@link #currentRun}); get, list, watch, create, update on configmaps in the gate's
 * namespace.
 */
public final class KubernetesJobTracking implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(KubernetesJobTracking.class);

  /**
   * Bound of one confirming read ({@link #currentRun}). It runs inside an admission review, after
   * owner lookups, all within the webhook's {@code timeoutSeconds} (5 s as shipped).
   */
  static final Duration READ_TIMEOUT = Duration.ofMillis(1500);

  private final KubernetesClient client;
  private final KubernetesClient readClient;
  private final ConfigMapSuccessLedger ledger;
  private final JobTracker tracker;
  private final SharedIndexInformer<Job> informer;

  private KubernetesJobTracking(Config config, String gateNamespace, LedgerPolicy policy) {
    // Informers retry on their own; a failing request should fail fast rather than hold a thread.
    this.client = KubernetesClients.withoutRetries(config);
    this.readClient = KubernetesClients.oneAttempt(config, READ_TIMEOUT);
    Clock clock = Clock.systemUTC();
    this.ledger = ConfigMapSuccessLedger.start(client, gateNamespace, policy, clock);
    this.tracker = new JobTracker(ledger, clock);
    this.informer = client.batch().v1().jobs().inAnyNamespace().runnableInformer(0);
    informer.itemStore(new CompactJobStore());
    informer.addEventHandler(
        new ResourceEventHandler<>() {
          @Override
          public void onAdd(Job job) {
            tracker.upserted(job);
          }

          @Override
          public void onUpdate(Job before, Job after) {
            tracker.upserted(after);
          }

          @Override
          public void onDelete(Job job, boolean finalStateUnknown) {
            tracker.deleted(job);
          }
        });
    AtomicBoolean failing = new AtomicBoolean();
    informer.exceptionHandler(
        (started, error) -> {
          if (failing.compareAndSet(false, true)) {
            LOG.warn("job tracker state=retrying cause=\"{}\"", error.getMessage());
          }
          return true;
        });
  }

  /** Starts the informer and the ledger, returns at once. */
  public static KubernetesJobTracking start(
      Config config, String gateNamespace, LedgerPolicy policy) {
    KubernetesJobTracking tracking = new KubernetesJobTracking(config, gateNamespace, policy);
    tracking
        .informer
        .start()
        .whenComplete(
            (ok, error) -> {
              if (error == null) {
                // The informer hands its first list to the handler asynchronously: feed the
                // tracker from the store now, so "synced" means every Job is in it. The handler's
                // later copies of older states are ignored (JobTracker.upserted).
                tracking.informer.getStore().list().forEach(tracking.tracker::upserted);
                LOG.info(
                    "job tracker state=synced jobs={} ledger_entries={}",
                    tracking.tracker.trackedJobs(),
                    tracking.ledger.size());
                tracking.tracker.jobsSynced();
              }
            });
    return tracking;
  }

  public JobTracker tracker() {
    return tracker;
  }

  public ConfigMapSuccessLedger ledger() {
    return ledger;
  }

  /**
   * {@link JobTracker.CurrentRuns} from the API server: a list by name (the gate may list Jobs, not
   * get them), read from the API server's current state, not the informer. Blocking; one attempt.
   */
  public Optional<String> currentRun(String namespace, String name) {
    return readClient
        .batch()
        .v1()
        .jobs()
        .inNamespace(namespace)
        .withField("metadata.name", name)
        .list()
        .getItems()
        .stream()
        .map(job -> job.getMetadata().getUid())
        .findFirst();
  }

  @Override
  public void close() {
    informer.stop();
    ledger.close();
    client.close();
    readClient.close();
  }
}
