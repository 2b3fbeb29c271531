package io.migrategate.gate.kube;

import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.migrategate.gate.admission.KubernetesOwnerLookup;
import io.migrategate.gate.admission.UngatedPodAuditor;
import io.migrategate.gate.jobs.KubernetesJobTracking;
import io.migrategate.gate.ledger.LedgerPolicy;
import io.migrategate.gate.observability.GateLog;
import io.migrategate.gate.waitapi.CachingTokenReviewer;
import io.migrategate.gate.waitapi.KubernetesTokenReviewer;
import io.migrategate.gate.waitapi.LocalTokenVerifier;
import io.migrategate.gate.waitapi.PendingPods;
import io.migrategate.gate.waitapi.PublishedKeys;
import io.migrategate.gate.waitapi.TokenReviewer;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * The gate's Kubernetes client, built on first use so that startup never waits for the API, and a
 * background check of whether the API answers. The gate keeps serving admission when it does not:
 * reviews that need no lookup are answered; the state shows in /readyz and in metrics.
 */
public final class KubernetesAccess implements AutoCloseable {
  /** What the last check of the API found. */
  public record ApiState(Status status, Instant since, String detail) {
    public enum Status {
      NOT_CHECKED,
      REACHABLE,
      UNREACHABLE
    }
  }

  private static final Duration CHECK_TIMEOUT = Duration.ofSeconds(5);

  private final Path kubeconfig;
  private final GateLog log;
  private Config config;
  private volatile KubernetesClient calls;
  private volatile KubernetesClient watching;
  private volatile KubernetesOwnerLookup ownerLookup;
  private volatile KubernetesJobTracking jobTracking;
  private volatile CachingTokenReviewer tokenReviewer;
  private PendingPods pendingPods;
  private PublishedKeys publishedKeys;
  private volatile UngatedPodAuditor auditor;
  private volatile ApiState state =
      new ApiState(ApiState.Status.NOT_CHECKED, Instant.now(), "no check has finished yet");
  private ScheduledExecutorService checks;

  public KubernetesAccess(Path kubeconfig, GateLog log) {
    this.kubeconfig = kubeconfig;
    this.log = log;
  }

  /**
   * How to reach the API: {@code --kubeconfig}, else KUBECONFIG / ~/.kube/config, else the
   * in-cluster service account. Reading it does not contact the API.
   */
  public synchronized Config config() {
    if (config == null) {
      config =
          kubeconfig == null
              ? Config.autoConfigure(null)
              : Config.fromKubeconfig(kubeconfig.toFile());
    }
    return config;
  }

  /**
   * The client for bounded calls: one attempt, connection and request within 5 s (the API check,
   * TokenReviews, the audit's pages). Callers that must answer in time use it; built on first use.
   */
  public KubernetesClient calls() {
    KubernetesClient existing = calls;
    if (existing != null) {
      return existing;
    }
    synchronized (this) {
      if (calls == null) {
        // One quick attempt: every caller has its own retry (the check runs again on its schedule).
        calls = KubernetesClients.oneAttempt(config(), CHECK_TIMEOUT);
      }
      return calls;
    }
  }

  /**
   * The client for informers and background reconcilers (self-managed TLS, the token checks'
   * caches): fabric8's retries off (each has its own back-off), no short request bound that would
   * cut a watch; built on first use.
   */
  public synchronized KubernetesClient watching() {
    if (watching == null) {
      watching = KubernetesClients.withoutRetries(config());
    }
    return watching;
  }

  /**
   * Owner lookups from informer caches with a bounded direct GET on a miss; started on first use,
   * returns at once (the caches fill in the background), closed with this object.
   */
  public synchronized KubernetesOwnerLookup ownerLookup(Duration lookupTimeout) {
    if (ownerLookup == null) {
      ownerLookup = KubernetesOwnerLookup.start(config(), lookupTimeout);
    }
    return ownerLookup;
  }

  /**
   * The cluster-wide Job tracker and its success ledger (ConfigMaps in {@code gateNamespace});
   * started on first use, returns at once, closed with this object.
   */
  public synchronized KubernetesJobTracking jobTracking(
      String gateNamespace, String ledgerKeySecret, LedgerPolicy policy) {
    if (jobTracking == null) {
      jobTracking = KubernetesJobTracking.start(config(), gateNamespace, ledgerKeySecret, policy);
    }
    return jobTracking;
  }

  /**
   * Token reviews for the wait API (audience migrate-gate): pre-checked, cached by token hash,
   * bounded in number and concurrency ({@code settings}); started on first use, closed with this
   * object.
   */
  public synchronized CachingTokenReviewer tokenReviewer(CachingTokenReviewer.Settings settings) {
    if (tokenReviewer == null) {
      // Waiter tokens verified here where possible (no API call per waiting pod), TokenReview else.
      pendingPods = PendingPods.start(watching());
      publishedKeys = PublishedKeys.start(watching());
      tokenReviewer =
          CachingTokenReviewer.withOwnThreads(
              new KubernetesTokenReviewer(calls(), TokenReviewer.DEFAULT_AUDIENCE),
              new LocalTokenVerifier(
                  TokenReviewer.DEFAULT_AUDIENCE,
                  publishedKeys,
                  pendingPods,
                  () -> System.currentTimeMillis() / 1000),
              settings);
    }
    return tokenReviewer;
  }

  /** Token reviews with the default bounds. */
  public CachingTokenReviewer tokenReviewer() {
    return tokenReviewer(CachingTokenReviewer.Settings.defaults(TokenReviewer.DEFAULT_AUDIENCE));
  }

  /**
   * The audit of un-gated pods, started on first call; needs the owner lookup (its caches say where
   * annotated workloads are). Closed with this object.
   */
  public synchronized UngatedPodAuditor ungatedPodAuditor(
      Duration interval,
      Predicate<String> excludedNamespace,
      String waiterImage,
      Optional<String> waitUrl) {
    if (auditor == null) {
      auditor =
          new UngatedPodAuditor(calls(), ownerLookup, excludedNamespace, waiterImage, waitUrl);
      auditor.start(interval);
    }
    return auditor;
  }

  /** The Job tracking if it was started, else null. */
  public KubernetesJobTracking startedJobTracking() {
    return jobTracking;
  }

  /** The owner lookup if one was started, else null (e.g. a gate serving a test reviewer). */
  public KubernetesOwnerLookup startedOwnerLookup() {
    return ownerLookup;
  }

  public ApiState state() {
    return state;
  }

  public boolean reachable() {
    return state.status() == ApiState.Status.REACHABLE;
  }

  /** Checks GET /version now and then every interval, logging only changes of state. */
  public void startChecks(Duration interval) {
    checks =
        Executors.newSingleThreadScheduledExecutor(
            runnable -> {
              Thread thread = new Thread(runnable, "migrate-gate-api-check");
              thread.setDaemon(true);
              return thread;
            });
    checks.scheduleWithFixedDelay(this::check, 0, interval.toMillis(), TimeUnit.MILLISECONDS);
  }

  private void check() {
    ApiState.Status status;
    String detail;
    try {
      KubernetesClient api = calls();
      detail = api.getMasterUrl() + " version " + api.getKubernetesVersion().getGitVersion();
      status = ApiState.Status.REACHABLE;
    } catch (Exception e) {
      status = ApiState.Status.UNREACHABLE;
      detail = rootCause(e);
    }
    ApiState previous = state;
    if (previous.status() != status) {
      state = new ApiState(status, Instant.now(), detail);
      if (status == ApiState.Status.REACHABLE) {
        log.info("kubernetes api reachable", "api", detail);
      } else {
        log.warn(
            "kubernetes api unreachable, still serving reviews that need no lookup",
            "error",
            detail);
      }
    } else {
      state = new ApiState(status, previous.since(), detail);
    }
  }

  private static String rootCause(Throwable error) {
    Throwable cause = error;
    while (cause.getCause() != null && cause.getCause() != cause) {
      cause = cause.getCause();
    }
    String detail =
        cause.getClass().getSimpleName()
            + (cause.getMessage() == null ? "" : ": " + cause.getMessage());
    return cause == error ? detail : error.getMessage() + " (" + detail + ")";
  }

  @Override
  public void close() {
    if (checks != null) {
      checks.shutdownNow();
    }
    CachingTokenReviewer tokens = tokenReviewer;
    if (tokens != null) {
      tokens.close();
      pendingPods.close();
      publishedKeys.close();
    }
    UngatedPodAuditor audit = auditor;
    if (audit != null) {
      audit.close();
    }
    KubernetesOwnerLookup lookup = ownerLookup;
    if (lookup != null) {
      lookup.close();
    }
    KubernetesJobTracking tracking = jobTracking;
    if (tracking != null) {
      tracking.close();
    }
    for (KubernetesClient client : new KubernetesClient[] {calls, watching}) {
      if (client != null) {
        client.close();
      }
    }
  }
}
