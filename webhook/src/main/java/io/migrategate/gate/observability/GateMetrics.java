package io.migrategate.gate.observability;

import static io.migrategate.gate.observability.PrometheusText.label;
import static io.migrategate.gate.observability.PrometheusText.number;

import io.migrategate.gate.admission.KubernetesOwnerLookup;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/**
 * The gate's metrics, exposed in the Prometheus text format on the probe port. Counters are
 * lock-free ({@link LongAdder}) because every admission review updates them from several event
 * loops and worker threads; see docs/metrics.md.
 */
public final class GateMetrics {
  /** Upper bounds in seconds: admission answers are expected within milliseconds. */
  static final double[] LATENCY_BUCKETS = {
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1
  };

  /**
   * A reviewer's reason strings are meant to be a small fixed set; the cap keeps a bug there from
   * growing the exposition without bound.
   */
  static final int MAX_LABEL_SETS = 200;

  private final LongAdder[] latencyBuckets = new LongAdder[LATENCY_BUCKETS.length + 1];
  private final LongAdder latencyCount = new LongAdder();
  private final LongAdder latencySumNanos = new LongAdder();
  private final Map<String, LongAdder> reviews = new ConcurrentHashMap<>();
  private final Map<String, LongAdder> invalidRequests = new ConcurrentHashMap<>();
  private final LongAdder tlsReloadSuccesses = new LongAdder();
  private final LongAdder tlsReloadFailures = new LongAdder();
  private final AtomicLong inflight = new AtomicLong();
  private volatile long certificateNotAfterEpochSeconds;
  private volatile BooleanSupplier apiReachable = () -> false;
  private volatile BooleanSupplier ready = () -> false;
  private volatile Supplier<KubernetesOwnerLookup.Stats> ownerLookups = () -> null;
  private volatile BooleanSupplier ownerCachesSynced = () -> false;
  private final List<Supplier<String>> sections = new CopyOnWriteArrayList<>();

  public GateMetrics() {
    for (int i = 0; i < latencyBuckets.length; i++) {
      latencyBuckets[i] = new LongAdder();
    }
  }

  public void observeAdmission(long nanos) {
    double seconds = nanos / 1e9;
    int bucket = 0;
    while (bucket < LATENCY_BUCKETS.length && seconds > LATENCY_BUCKETS[bucket]) {
      bucket++;
    }
    latencyBuckets[bucket].increment();
    latencyCount.increment();
    latencySumNanos.add(nanos);
  }

  /** A review the reviewer (or the server on its behalf) decided. */
  public void countReview(String outcome, String reason, boolean dryRun) {
    String labels =
        label("outcome", outcome)
            + ","
            + label("reason", reason == null ? "" : reason)
            + ","
            + label("dry_run", String.valueOf(dryRun));
    increment(reviews, labels, label("outcome", outcome) + ",reason=\"other\"");
  }

  /** A request rejected before review: too large, wrong media type, not JSON, not a review. */
  public void countInvalidRequest(int status, String reason) {
    increment(
        invalidRequests,
        "code=\"" + status + "\"," + label("reason", reason),
        "code=\"" + status + "\",reason=\"other\"");
  }

  private static void increment(Map<String, LongAdder> counters, String labels, String overflow) {
    LongAdder counter = counters.get(labels);
    if (counter == null) {
      String key = counters.size() < MAX_LABEL_SETS ? labels : overflow;
      counter = counters.computeIfAbsent(key, k -> new LongAdder());
    }
    counter.increment();
  }

  public void tlsReloaded(boolean success) {
    (success ? tlsReloadSuccesses : tlsReloadFailures).increment();
  }

  public void certificateNotAfter(long epochSeconds) {
    certificateNotAfterEpochSeconds = epochSeconds;
  }

  public void reviewStarted() {
    inflight.incrementAndGet();
  }

  public void reviewFinished() {
    inflight.decrementAndGet();
  }

  public long inflightReviews() {
    return inflight.get();
  }

  public void apiReachable(BooleanSupplier reachable) {
    this.apiReachable = reachable;
  }

  public void ready(BooleanSupplier ready) {
    this.ready = ready;
  }

  /** Lookup counters and cache state of the reviewer's owner lookup (null: none started). */
  public void ownerLookups(
      Supplier<KubernetesOwnerLookup.Stats> stats, BooleanSupplier cachesSynced) {
    this.ownerLookups = stats;
    this.ownerCachesSynced = cachesSynced;
  }

  /** Adds metrics another part of the gate renders itself (e.g. the wait API's). */
  public void addSection(Supplier<String> section) {
    sections.add(section);
  }

  /** The exposition in Prometheus text format 0.0.4. */
  public String render() {
    PrometheusText out = new PrometheusText(new StringBuilder(4096));
    String latency = "migrate_gate_admission_duration_seconds";
    out.family(
        latency, "histogram", "Time from receiving an admission request to sending its answer.");
    long cumulative = 0;
    for (int i = 0; i < LATENCY_BUCKETS.length; i++) {
      cumulative += latencyBuckets[i].sum();
      out.sample(latency + "_bucket", label("le", number(LATENCY_BUCKETS[i])), cumulative);
    }
    cumulative += latencyBuckets[LATENCY_BUCKETS.length].sum();
    out.sample(latency + "_bucket", label("le", "+Inf"), cumulative);
    out.sample(latency + "_sum", "", number(latencySumNanos.sum() / 1e9));
    // The count is the +Inf bucket so the two never disagree in one scrape.
    out.sample(latency + "_count", cumulative);

    out.family(
            "migrate_gate_admission_reviews_total",
            "counter",
            "Admission reviews answered, by outcome (injected, skipped, denied, error) and reason.")
        .countersByLabels("migrate_gate_admission_reviews_total", reviews);
    out.family(
            "migrate_gate_invalid_requests_total",
            "counter",
            "Requests to /mutate rejected before review, by HTTP status and reason.")
        .countersByLabels("migrate_gate_invalid_requests_total", invalidRequests);
    out.gauge(
        "migrate_gate_inflight_reviews",
        "Admission requests received and not yet answered.",
        inflight.get());
    out.gauge(
        "migrate_gate_serving_certificate_not_after_timestamp_seconds",
        "Expiry (Unix time) of the certificate being served.",
        certificateNotAfterEpochSeconds);
    out.family(
            "migrate_gate_tls_reloads_total",
            "counter",
            "Attempts to load changed certificate files, by result.")
        .sample(
            "migrate_gate_tls_reloads_total", label("result", "success"), tlsReloadSuccesses.sum())
        .sample(
            "migrate_gate_tls_reloads_total", label("result", "failure"), tlsReloadFailures.sum());
    out.gauge(
        "migrate_gate_kubernetes_api_reachable",
        "1 when the last check of the Kubernetes API succeeded, else 0.",
        apiReachable.getAsBoolean() ? 1 : 0);

    KubernetesOwnerLookup.Stats lookups = ownerLookups.get();
    out.family(
            "migrate_gate_owner_lookups_total",
            "counter",
            "Lookups of a pod's owning workload, by source: informer cache or direct API GET.")
        .sample(
            "migrate_gate_owner_lookups_total",
            label("source", "cache"),
            lookups == null ? 0 : lookups.cacheHits())
        .sample(
            "migrate_gate_owner_lookups_total",
            label("source", "api"),
            lookups == null ? 0 : lookups.apiGets());
    out.counter(
        "migrate_gate_owner_lookup_failures_total",
        "Owner lookups that could not be made (API unreachable, timeout, forbidden).",
        lookups == null ? 0 : lookups.failures());
    out.gauge(
        "migrate_gate_owner_caches_synced",
        "1 when every owner informer cache has completed its first list, else 0.",
        ownerCachesSynced.getAsBoolean() ? 1 : 0);
    out.gauge(
        "migrate_gate_ready",
        "1 when /readyz reports ready, else 0.",
        ready.getAsBoolean() ? 1 : 0);
    StringBuilder text = new StringBuilder(out.toString());
    sections.forEach(section -> text.append(section.get()));
    return text.toString();
  }
}
