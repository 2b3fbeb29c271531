package io.migrategate.gate.jobs;

import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import io.migrategate.gate.kube.FatalErrors;
import io.migrategate.gate.kube.KubernetesClients;
import io.migrategate.gate.ledger.ConfigMapSuccessLedger;
import io.migrategate.gate.ledger.LedgerPolicy;
import io.migrategate.gate.ledger.WatchMark;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The gate's Job tracking against the API server: one cluster-wide Job informer (list and watch,
 * read-only) feeding a {@link JobTracker}, and the ConfigMap-backed success ledger in the gate's
 * namespace. Starting never waits for the API server; {@link JobTracker#isReady()} says when both
 * have been read, and the events missed since the replicas' last {@link WatchMark} replayed ({@link
 * MissedEvents}) — or, when those are gone, the ledger's older successes doubted.
 *
 * <p>RBAC: list, watch on jobs.batch cluster-wide (list also confirms a success before a pod passes
 * on it, {@link #currentRun}); get, list, watch, create, update on configmaps in the gate's
 * namespace; get, update on the ledger key's Secret there.
 */
public final class KubernetesJobTracking implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(KubernetesJobTracking.class);

  /**
   * Bound of one confirming read ({@link #currentRun}). It runs inside an admission review, after
   * owner lookups, all within the webhook's {@code timeoutSeconds} (5 s as shipped).
   */
  static final Duration READ_TIMEOUT = Duration.ofMillis(1500);

  /**
   * How often the watch mark moves on (when the watch did). Each write stores the previous tick's
   * resourceVersion, whose events have surely been handled; a restart replays from there.
   */
  static final Duration MARK_INTERVAL = Duration.ofSeconds(15);

  private final KubernetesClient client;
  private final KubernetesClient readClient;
  private final ConfigMapSuccessLedger ledger;
  private final JobTracker tracker;
  private final SharedIndexInformer<Job> informer;
  private final Clock clock = Clock.systemUTC();
  private final ScheduledExecutorService marks =
      Executors.newSingleThreadScheduledExecutor(
          runnable -> {
            Thread thread = new Thread(runnable, "migrate-gate-watch-mark");
            thread.setDaemon(true);
            return thread;
          });

  /** How long a start or a stop waits for the watch mark's write. */
  static final Duration MARK_WRITE_TIMEOUT = Duration.ofSeconds(5);

  private final String gateNamespace;
  private volatile WatchMark handled;
  private volatile WatchMark written;

  private KubernetesJobTracking(
      Config config, String gateNamespace, String ledgerKeySecret, LedgerPolicy policy) {
    // Informers retry on their own; a failing request should fail fast rather than hold a thread.
    this.gateNamespace = gateNamespace;
    this.client = KubernetesClients.withoutRetries(config);
    this.readClient = KubernetesClients.oneAttempt(config, READ_TIMEOUT);
    this.ledger =
        ConfigMapSuccessLedger.start(client, gateNamespace, ledgerKeySecret, policy, clock);
    this.tracker = new JobTracker(ledger, clock);
    this.informer =
        client
            .batch()
            .v1()
            .jobs()
            .inAnyNamespace()
            .withLimit(KubernetesClients.LIST_PAGE)
            .runnableInformer(0);
    informer.itemStore(new CompactJobStore());
    informer.addEventHandler(
        new ResourceEventHandler<>() {
          @Override
          public void onAdd(Job job) {
            tracker.upserted(stored(job));
          }

          @Override
          public void onUpdate(Job before, Job after) {
            tracker.upserted(stored(after));
          }

          @Override
          public void onDelete(Job job, boolean finalStateUnknown) {
            tracker.deleted(job);
          }
        });
    AtomicBoolean failing = new AtomicBoolean();
    informer.exceptionHandler(
        FatalErrors.retryOthers(
            "job tracker",
            failing,
            error -> LOG.warn("job tracker state=retrying cause=\"{}\"", error.getMessage())));
  }

  /**
   * Starts the informer and the ledger, returns at once.
   *
   * @param ledgerKeySecret the Secret holding the ledger's sealing key ({@code
   *     --ledger-key-secret})
   */
  public static KubernetesJobTracking start(
      Config config, String gateNamespace, String ledgerKeySecret, LedgerPolicy policy) {
    KubernetesJobTracking tracking =
        new KubernetesJobTracking(config, gateNamespace, ledgerKeySecret, policy);
    // Successes recorded from here on were seen by this replica's own list and watch.
    Instant watchStart = tracking.clock.instant();
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
                String listed = tracking.informer.lastSyncResourceVersion();
                tracking
                    .ledger
                    .whenLoaded()
                    .thenRunAsync(() -> tracking.catchUp(listed, watchStart), tracking.marks);
              }
            });
    return tracking;
  }

  /**
   * After the first list and the ledger's load: the events no replica watched, then "synced", then
   * the watch mark kept moving.
   */
  private void catchUp(String listedVersion, Instant watchStart) {
    WatchMark listed = new WatchMark(listedVersion, clock.instant());
    Optional<WatchMark> mark = ledger.storedMark();
    if (mark.isEmpty()) {
      // A new install (nothing to doubt) or a mark removed or forged: what was recorded before
      // cannot be vouched for.
      gap("no_watch_mark", null, watchStart);
    } else {
      MissedEvents.Result replay =
          MissedEvents.replay(client, mark.get(), listed.revision(), tracker);
      if (replay.outcome() == MissedEvents.Outcome.REPLAYED) {
        if (replay.events() > 0) {
          LOG.info(
              "job tracker state=replayed since={} events={}", mark.get().at(), replay.events());
        }
      } else {
        gap(replay.outcome().name().toLowerCase(java.util.Locale.ROOT), mark.get(), watchStart);
      }
    }
    warmUpConfirmingReads();
    // Stored before "synced": once a replica has passed a pod, the next one to start finds where
    // the watch began (without a mark it would doubt every success, a new install's included).
    storeMark(listed);
    handled = listed;
    written = listed;
    LOG.info(
        "job tracker state=synced jobs={} ledger_entries={}", tracker.trackedJobs(), ledger.size());
    tracker.jobsSynced();
    long every = MARK_INTERVAL.toMillis();
    marks.scheduleWithFixedDelay(this::moveMark, every, every, TimeUnit.MILLISECONDS);
  }

  /**
   * The first read of a fresh client pays for class loading and its connection, which on a busy
   * node can outlast {@link #READ_TIMEOUT}: paid here, before "synced", so that the first pods
   * after a restart do not get a waiter only because confirming their Job's success timed out.
   */
  private void warmUpConfirmingReads() {
    try {
      currentRun(gateNamespace, "migrate-gate-warm-up");
    } catch (RuntimeException e) {
      // The reads that matter report their own failures.
    }
  }

  private void gap(String cause, WatchMark since, Instant watchStart) {
    int doubted = ledger.doubt(watchStart);
    if (doubted > 0) {
      LOG.warn(
          "job tracker state=gap cause={} watched_until={} doubted_successes={} (no gate watched"
              + " Jobs for a while and the API server no longer holds those events: a run may"
              + " have failed unseen, so successes recorded before {} pass no pod until their Job"
              + " is seen again)",
          cause,
          since == null ? "unknown" : since.at(),
          doubted,
          watchStart);
    }
  }

  /** Stores the mark reached one tick ago (its events handled by now), then notes where we are. */
  private void moveMark() {
    try {
      WatchMark due = handled;
      if (due != null && due != written) {
        ledger.watchedThrough(due);
        written = due;
      }
      String now = informer.lastSyncResourceVersion();
      if (now != null && (due == null || !now.equals(due.resourceVersion()))) {
        handled = new WatchMark(now, clock.instant());
      }
    } catch (RuntimeException e) {
      LOG.warn("job tracker state=watch_mark_failed cause=\"{}\"", e.toString());
    }
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

  /** Stores a mark and waits for the write, boundedly (a failure was logged by the ledger). */
  private void storeMark(WatchMark mark) {
    try {
      ledger.watchedThrough(mark).get(MARK_WRITE_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (ExecutionException | TimeoutException e) {
      LOG.warn("job tracker state=watch_mark_slow cause=\"{}\"", e.toString());
    }
  }

  @Override
  public void close() {
    marks.shutdownNow();
    // A graceful stop leaves the furthest mark it can vouch for: the next start replays less.
    WatchMark last = handled;
    if (last != null && last != written) {
      storeMark(last);
    }
    informer.stop();
    ledger.close();
    client.close();
    readClient.close();
  }

  /**
   * The store's compact copy of {@code job} when it is this version (the store is written before
   * handlers run), so the tracker keeps the same instance; else {@code job} (compacted by the
   * tracker).
   */
  private Job stored(Job job) {
    Job kept = informer.getStore().get(job);
    return kept != null
            && job.getMetadata() != null
            && Objects.equals(
                kept.getMetadata().getResourceVersion(), job.getMetadata().getResourceVersion())
        ? kept
        : job;
  }
}
