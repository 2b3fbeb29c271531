package io.migrategate.gate;

import io.migrategate.admission.KubernetesOwnerLookup;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
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
        "outcome=\""
            + escape(outcome)
            + "\",reason=\""
            + escape(reason == null ? "" : reason)
            + "\",dry_run=\""
            + dryRun
            + "\"";
    increment(reviews, labels, "outcome=\"" + escape(outcome) + "\",reason=\"other\"");
  }

  /** A request rejected before review: too large, wrong media type, not JSON, not a review. */
  public void countInvalidRequest(int status, String reason) {
    increment(
        invalidRequests,
        "code=\"" + status + "\",reason=\"" + escape(reason) + "\"",
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
    StringBuilder out = new StringBuilder(4096);
    header(
        out,
        "migrate_gate_admission_duration_seconds",
        "histogram",
        "Time from receiving an admission request to sending its answer.");
    long cumulative = 0;
    for (int i = 0; i < LATENCY_BUCKETS.length; i++) {
      cumulative += latencyBuckets[i].sum();
      out.append("migrate_gate_admission_duration_seconds_bucket{le=\"")
          .append(format(LATENCY_BUCKETS[i]))
          .append("\"} ")
          .append(cumulative)
          .append('\n');
    }
    cumulative += latencyBuckets[LATENCY_BUCKETS.length].sum();
    out.append("migrate_gate_admission_duration_seconds_bucket{le=\"+Inf\"} ")
        .append(cumulative)
        .append('\n');
    out.append("migrate_gate_admission_duration_seconds_sum ")
        .append(format(latencySumNanos.sum() / 1e9))
        .append('\n');
    // The count is the +Inf bucket so the two never disagree in one scrape.
    out.append("migrate_gate_admission_duration_seconds_count ").append(cumulative).append('\n');

    header(
        out,
        "migrate_gate_admission_reviews_total",
        "counter",
        "Admission reviews answered, by outcome (injected, skipped, denied, error) and reason.");
    counters(out, "migrate_gate_admission_reviews_total", reviews);

    header(
        out,
        "migrate_gate_invalid_requests_total",
        "counter",
        "Requests to /mutate rejected before review, by HTTP status and reason.");
    counters(out, "migrate_gate_invalid_requests_total", invalidRequests);

    header(
        out,
        "migrate_gate_inflight_reviews",
        "gauge",
        "Admission requests received and not yet answered.");
    out.append("migrate_gate_inflight_reviews ").append(inflight.get()).append('\n');

    header(
        out,
        "migrate_gate_serving_certificate_not_after_timestamp_seconds",
        "gauge",
        "Expiry (Unix time) of the certificate being served.");
    out.append("migrate_gate_serving_certificate_not_after_timestamp_seconds ")
        .append(certificateNotAfterEpochSeconds)
        .append('\n');

    header(
        out,
        "migrate_gate_tls_reloads_total",
        "counter",
        "Attempts to load changed certificate files, by result.");
    out.append("migrate_gate_tls_reloads_total{result=\"success\"} ")
        .append(tlsReloadSuccesses.sum())
        .append('\n');
    out.append("migrate_gate_tls_reloads_total{result=\"failure\"} ")
        .append(tlsReloadFailures.sum())
        .append('\n');

    header(
        out,
        "migrate_gate_kubernetes_api_reachable",
        "gauge",
        "1 when the last check of the Kubernetes API succeeded, else 0.");
    out.append("migrate_gate_kubernetes_api_reachable ")
        .append(apiReachable.getAsBoolean() ? 1 : 0)
        .append('\n');

    KubernetesOwnerLookup.Stats lookups = ownerLookups.get();
    header(
        out,
        "migrate_gate_owner_lookups_total",
        "counter",
        "Lookups of a pod's owning workload, by source: informer cache or direct API GET.");
    out.append("migrate_gate_owner_lookups_total{source=\"cache\"} ")
        .append(lookups == null ? 0 : lookups.cacheHits())
        .append('\n');
    out.append("migrate_gate_owner_lookups_total{source=\"api\"} ")
        .append(lookups == null ? 0 : lookups.apiGets())
        .append('\n');
    header(
        out,
        "migrate_gate_owner_lookup_failures_total",
        "counter",
        "Owner lookups that could not be made (API unreachable, timeout, forbidden).");
    out.append("migrate_gate_owner_lookup_failures_total ")
        .append(lookups == null ? 0 : lookups.failures())
        .append('\n');
    header(
        out,
        "migrate_gate_owner_caches_synced",
        "gauge",
        "1 when every owner informer cache has completed its first list, else 0.");
    out.append("migrate_gate_owner_caches_synced ")
        .append(ownerCachesSynced.getAsBoolean() ? 1 : 0)
        .append('\n');

    header(out, "migrate_gate_ready", "gauge", "1 when /readyz reports ready, else 0.");
    out.append("migrate_gate_ready ").append(ready.getAsBoolean() ? 1 : 0).append('\n');
    sections.forEach(section -> out.append(section.get()));
    return out.toString();
  }

  private static void header(StringBuilder out, String name, String type, String help) {
    out.append("# HELP ").append(name).append(' ').append(help).append('\n');
    out.append("# TYPE ").append(name).append(' ').append(type).append('\n');
  }

  private static void counters(StringBuilder out, String name, Map<String, LongAdder> counters) {
    // Sorted so successive scrapes list series in the same order.
    for (Map.Entry<String, LongAdder> entry : new TreeMap<>(counters).entrySet()) {
      out.append(name)
          .append('{')
          .append(entry.getKey())
          .append("} ")
          .append(entry.getValue().sum())
          .append('\n');
    }
  }

  private static String format(double value) {
    String text = String.format(Locale.ROOT, "%.6f", value);
    text = text.replaceAll("0+$", "");
    return text.endsWith(".") ? text + "0" : text;
  }

  /** Label values per the exposition format: backslash, double quote and newline escaped. */
  static String escape(String value) {
    StringBuilder escaped = new StringBuilder(value.length());
    for (int i = 0; i < value.length() && i < 120; i++) {
      char c = value.charAt(i);
      switch (c) {
        case '\\' -> escaped.append("\\\\");
        case '"' -> escaped.append("\\\"");
        case '\n' -> escaped.append("\\n");
        default -> escaped.append(c);
      }
    }
    return escaped.toString();
  }
}
