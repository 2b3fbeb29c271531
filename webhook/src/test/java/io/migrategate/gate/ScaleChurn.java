package io.migrategate.gate;

import io.fabric8.kubernetes.api.model.apps.ReplicaSet;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.migrategate.gate.jobs.ExternallyManagedJobs;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.Semaphore;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.net.ssl.SSLContext;

/**
 * The scale benchmark's second phase (issue 13): with the synced gate running over the populated
 * cluster, a quiet window and then churn windows of the same length. In each, {@value
 * #ADMISSION_RATE} admission reviews per second over {@value #CONCURRENCY} connections, of a pod
 * whose Deployment carries {@code migrate.io/job} (owner lookups from the gate's caches). In the
 * churn windows, {@code rate} Job updates per second as a batch-heavy cluster makes them: 8 in 10
 * label patches of the populated Jobs, 1 in 10 a new Job that succeeds — a ledger entry — and 1 in
 * 10 a deletion of an old one; in the last window the gate's connections to the API server are also
 * cut every {@value #DROP_EVERY_SECONDS} s. Per window: admission latency (client side, and the
 * gate's histogram), the gate's own API requests per minute ({@code
 * migrate_gate_api_requests_total}), ledger writes and bytes per second, and whether the gate's
 * Jobs match the cluster's afterwards.
 */
final class ScaleChurn {
  static final int CONCURRENCY = 16;

  /** Admission reviews per second: a busy cluster's pod creations, with room to spare. */
  static final int ADMISSION_RATE = 200;

  static final int CHURN_NAMESPACES = 10;
  static final String PREFIX = "mg-scale-churn";

  /** "Pause Young (Allocation Failure) 251M->169M(297M) 20.676ms" in the gate's -Xlog:gc. */
  private static final Pattern REQUEST_LABELS =
      Pattern.compile("verb=\"([^\"]*)\",resource=\"([^\"]*)\"");

  private static final Pattern GC_PAUSE = Pattern.compile("Pause .* ([0-9.]+)ms$");

  private static final Pattern SAMPLE =
      Pattern.compile("^([a-z_]+(?:\\{[^}]*\\})?) ([0-9.eE+-]+)$");

  record Window(
      String name,
      double seconds,
      List<Long> admissionMicros,
      long admissionFailures,
      Map<String, Double> gateMetrics,
      long churnSent,
      long churnFailed,
      long churnSkipped,
      int connectionsCut,
      long convergedMillis,
      List<Double> gcPauseMillis,
      long peakRssBytes) {

    double metric(String key) {
      return gateMetrics.getOrDefault(key, 0.0);
    }
  }

  private final KubernetesClient admin;
  private final String scalePrefix;
  private final int jobs;
  private final int namespaces;
  private final int admissionPort;
  private final List<Integer> probePorts;
  private final long gatePid;
  private final Path gcLog;
  private final int apiPort;
  private final SSLContext trust;

  ScaleChurn(
      KubernetesClient admin,
      String scalePrefix,
      int jobs,
      int namespaces,
      int admissionPort,
      int probePort,
      long gatePid,
      String caPem,
      Path gcLog)
      throws Exception {
    this.admin = admin;
    this.scalePrefix = scalePrefix;
    this.jobs = jobs;
    this.namespaces = namespaces;
    this.admissionPort = admissionPort;
    this.probePorts = List.of(probePort);
    this.gatePid = gatePid;
    this.gcLog = gcLog;
    this.apiPort = URI.create(admin.getConfiguration().getMasterUrl()).getPort();
    this.trust = WaitClients.trusting(caPem);
  }

  /** What happens to the gate's connection to the API server during a window. */
  enum Disruption {
    NONE,
    /** Every {@value #DROP_EVERY_SECONDS} s its TCP connections are cut ({@code ss -K}). */
    CUT_EVERY_10_S,
    /**
     * At the start the API server restarts ({@code local-cluster/restart}): its watch history
     * starts anew, so the gate's watches are answered 410 Gone and every informer lists again.
     */
    API_SERVER_RESTART
  }

  /**
   * The quiet window, the churn window, a churn window in which the gate's connections to the API
   * server are cut every {@value #DROP_EVERY_SECONDS} s, and one that starts with the API server
   * restarting (a forced relist), each {@code length}.
   */
  List<Window> run(Duration length, int rate) throws Exception {
    byte[] review = ownedPodReview();
    // Not reported: the gate's JIT compiles the review path first.
    window("warm-up", Duration.ofSeconds(20), review, 0, Disruption.NONE);
    List<Window> windows = new ArrayList<>();
    windows.add(window("quiet", length, review, 0, Disruption.NONE));
    windows.add(window("churn " + rate + " updates/s", length, review, rate, Disruption.NONE));
    windows.add(
        window(
            "churn, watches cut every " + DROP_EVERY_SECONDS + " s",
            length,
            review,
            rate,
            Disruption.CUT_EVERY_10_S));
    windows.add(
        window(
            "churn, API server restarted (relist)",
            length,
            review,
            rate,
            Disruption.API_SERVER_RESTART));
    return windows;
  }

  static final int DROP_EVERY_SECONDS = 10;

  /** Names of the Jobs the churn creates: this run's, numbered across its windows. */
  private static final String RUN =
      Long.toString(System.currentTimeMillis() / 1000 % 1_000_000, 36);

  private static final AtomicLong SEQUENCE = new AtomicLong();

  private Window window(
      String name, Duration length, byte[] review, int rate, Disruption disruption)
      throws Exception {
    Map<String, Double> before = gateMetrics();
    int gcLinesBefore = Files.readAllLines(gcLog).size();
    long start = System.nanoTime();
    long end = start + length.toNanos();
    AtomicBoolean stop = new AtomicBoolean();
    List<Long> micros = Collections.synchronizedList(new ArrayList<>());
    AtomicLong failures = new AtomicLong();
    ExecutorService reviewers = Executors.newFixedThreadPool(CONCURRENCY);
    for (int i = 0; i < CONCURRENCY; i++) {
      reviewers.execute(() -> reviewLoop(review, stop, micros, failures));
    }
    Churn churn = rate > 0 ? new Churn(rate) : null;
    resetPeakRss();
    int cuts = 0;
    if (disruption == Disruption.API_SERVER_RESTART) {
      restartApiServer();
    }
    long nextCut = start + TimeUnit.SECONDS.toNanos(DROP_EVERY_SECONDS);
    while (System.nanoTime() < end) {
      if (disruption == Disruption.CUT_EVERY_10_S && System.nanoTime() >= nextCut) {
        cuts += cutApiConnections();
        nextCut += TimeUnit.SECONDS.toNanos(DROP_EVERY_SECONDS);
      }
      TimeUnit.NANOSECONDS.sleep(
          Math.max(0, Math.min(Math.min(end, nextCut) - System.nanoTime(), 500_000_000L)));
    }
    stop.set(true);
    if (churn != null) {
      churn.stop();
    }
    reviewers.shutdown();
    reviewers.awaitTermination(30, TimeUnit.SECONDS);
    double seconds = (System.nanoTime() - start) / 1e9;
    long peakRss = GateLoadBenchmark.status(gatePid, "VmHWM");
    List<String> gcLines = Files.readAllLines(gcLog);
    List<Double> pauses = new ArrayList<>();
    for (String line : gcLines.subList(Math.min(gcLinesBefore, gcLines.size()), gcLines.size())) {
      Matcher pause = GC_PAUSE.matcher(line);
      if (pause.find()) {
        pauses.add(Double.parseDouble(pause.group(1)));
      }
    }
    // Correct afterwards: the gate's Jobs are the cluster's Jobs.
    long converged = rate > 0 ? convergedMillis(Duration.ofMinutes(2)) : 0;
    Map<String, Double> after = gateMetrics();
    Map<String, Double> delta = new TreeMap<>();
    after.forEach((key, value) -> delta.put(key, value - before.getOrDefault(key, 0.0)));
    // Gauges as they are at the end, not their change.
    delta.put(
        "migrate_gate_ledger_entries", after.getOrDefault("migrate_gate_ledger_entries", 0.0));
    return new Window(
        name,
        seconds,
        new ArrayList<>(micros),
        failures.get(),
        delta,
        churn == null ? 0 : churn.sent.get(),
        churn == null ? 0 : churn.failed.get(),
        churn == null ? 0 : churn.skipped.get(),
        cuts,
        converged,
        pauses,
        peakRss);
  }

  /** The gate's peak RSS (VmHWM) starts again from its current RSS ({@code clear_refs} 5). */
  private void resetPeakRss() throws IOException {
    Files.writeString(Path.of("/proc", Long.toString(gatePid), "clear_refs"), "5");
  }

  private static void restartApiServer() throws Exception {
    Process restart =
        new ProcessBuilder("local-cluster/restart", "kube-apiserver")
            .redirectErrorStream(true)
            .start();
    String output = new String(restart.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!restart.waitFor(3, TimeUnit.MINUTES) || restart.exitValue() != 0) {
      throw new IllegalStateException("local-cluster/restart kube-apiserver failed:\n" + output);
    }
  }

  /**
   * Cuts every TCP connection of the gate to the API server ({@code ss -K}, root): what a load
   * balancer timing out, an API server restart or a network blip does to its watches. Returns the
   * connections cut.
   */
  private int cutApiConnections() throws Exception {
    Process list =
        new ProcessBuilder("ss", "-tnpH", "state", "established", "( dport = :" + apiPort + " )")
            .redirectErrorStream(true)
            .start();
    String text = new String(list.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    list.waitFor();
    int cut = 0;
    for (String line : text.split("\n")) {
      if (!line.contains("pid=" + gatePid + ",")) {
        continue;
      }
      String[] fields = line.trim().split("\\s+");
      // Recv-Q Send-Q Local:Port Peer:Port users:(...)
      String local = fields[2];
      String localPort = local.substring(local.lastIndexOf(':') + 1);
      Process kill =
          new ProcessBuilder(
                  "ss",
                  "-K",
                  "state",
                  "established",
                  "( sport = :" + localPort + " and dport = :" + apiPort + " )")
              .redirectErrorStream(true)
              .start();
      kill.getInputStream().readAllBytes();
      if (kill.waitFor() == 0) {
        cut++;
      }
    }
    return cut;
  }

  /**
   * How long after the churn stopped the gate's tracked Jobs equal the Jobs in the cluster (-1: not
   * within {@code deadline}).
   */
  long convergedMillis(Duration deadline) throws Exception {
    long start = System.nanoTime();
    long end = start + deadline.toNanos();
    while (System.nanoTime() < end) {
      long actual = clusterJobs();
      long tracked = gateMetrics().getOrDefault("migrate_gate_tracked_jobs", -1.0).longValue();
      if (tracked == actual) {
        return (System.nanoTime() - start) / 1_000_000;
      }
      Thread.sleep(250);
    }
    return -1;
  }

  /** Jobs in the cluster, all namespaces (one list of one item: its remaining count). */
  private long clusterJobs() {
    var page =
        admin
            .batch()
            .v1()
            .jobs()
            .inAnyNamespace()
            .list(new io.fabric8.kubernetes.api.model.ListOptionsBuilder().withLimit(1L).build());
    Long remaining = page.getMetadata().getRemainingItemCount();
    return page.getItems().size() + (remaining == null ? 0 : remaining);
  }

  private void reviewLoop(
      byte[] review, AtomicBoolean stop, List<Long> micros, AtomicLong failures) {
    HttpClient http =
        HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).sslContext(trust).build();
    HttpRequest request =
        HttpRequest.newBuilder(URI.create("https://127.0.0.1:" + admissionPort + "/mutate"))
            .header("Content-Type", "application/json")
            .timeout(Duration.ofSeconds(10))
            .POST(HttpRequest.BodyPublishers.ofByteArray(review))
            .build();
    // Paced: ADMISSION_RATE reviews/s over CONCURRENCY connections, not as fast as they go (on 2
    // cores a closed loop would starve the API server and the churn).
    long interval = TimeUnit.SECONDS.toNanos(CONCURRENCY) / ADMISSION_RATE;
    long next = System.nanoTime() + ThreadLocalRandom.current().nextLong(interval);
    while (!stop.get()) {
      long wait = next - System.nanoTime();
      if (wait > 0) {
        try {
          TimeUnit.NANOSECONDS.sleep(wait);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          return;
        }
      }
      next = Math.max(next + interval, System.nanoTime() - interval);
      long t0 = System.nanoTime();
      try {
        HttpResponse<String> response = http.send(request, HttpResponse.BodyHandlers.ofString());
        long took = (System.nanoTime() - t0) / 1000;
        // An injected waiter: the owner lookup found the Deployment's annotation in the cache.
        if (response.statusCode() == 200 && response.body().contains("\"patch\"")) {
          micros.add(took);
        } else {
          failures.incrementAndGet();
        }
      } catch (IOException e) {
        failures.incrementAndGet();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
    }
  }

  /**
   * Job updates at a fixed rate from a bounded pool; what the API server cannot take is skipped.
   */
  private final class Churn {
    final AtomicLong sent = new AtomicLong();
    final AtomicLong failed = new AtomicLong();
    final AtomicLong skipped = new AtomicLong();
    private final ScheduledExecutorService clock = Executors.newSingleThreadScheduledExecutor();
    private final ExecutorService pool = Executors.newFixedThreadPool(8);
    private final Semaphore inFlight = new Semaphore(64);
    private final ConcurrentLinkedQueue<String[]> created = new ConcurrentLinkedQueue<>();
    private final AtomicLong tick = new AtomicLong();

    Churn(int rate) {
      clock.scheduleAtFixedRate(this::next, 0, 1_000_000 / rate, TimeUnit.MICROSECONDS);
    }

    private void next() {
      long n = tick.getAndIncrement();
      if (!inFlight.tryAcquire()) {
        skipped.incrementAndGet();
        return;
      }
      pool.execute(
          () -> {
            try {
              switch ((int) (n % 10)) {
                case 0 -> createSucceededJob(n);
                case 5 -> deleteOldJob();
                default -> patchPopulatedJob(n);
              }
              sent.incrementAndGet();
            } catch (RuntimeException e) {
              failed.incrementAndGet();
            } finally {
              inFlight.release();
            }
          });
    }

    /** A Job that succeeds at once (its status written here: {@link ExternallyManagedJobs}). */
    private void createSucceededJob(long n) {
      String namespace = churnNamespace((int) (n / 10 % CHURN_NAMESPACES));
      // Unique across windows and runs: a name taken by an earlier run's Job would be a 409.
      String name = String.format(Locale.ROOT, "churn-%s-%06d", RUN, SEQUENCE.incrementAndGet());
      ExternallyManagedJobs.succeeded(
          admin, namespace, name, Map.of(ScaleBenchmark.SCALE_LABEL, PREFIX));
      created.add(new String[] {namespace, name});
    }

    private void deleteOldJob() {
      if (created.size() < 100) {
        patchPopulatedJob(ThreadLocalRandom.current().nextLong(jobs));
        return;
      }
      String[] old = created.poll();
      if (old != null) {
        admin
            .batch()
            .v1()
            .jobs()
            .inNamespace(old[0])
            .withName(old[1])
            .withPropagationPolicy(io.fabric8.kubernetes.api.model.DeletionPropagation.BACKGROUND)
            .delete();
      }
    }

    private void patchPopulatedJob(long n) {
      int index = ThreadLocalRandom.current().nextInt(jobs);
      admin
          .batch()
          .v1()
          .jobs()
          .inNamespace(ScaleBenchmark.namespace(scalePrefix, index % namespaces))
          .withName(String.format(Locale.ROOT, "batch-%06d", index))
          .patch(
              PatchContext.of(PatchType.JSON_MERGE),
              "{\"metadata\":{\"labels\":{\"migrate-gate.test/churn\":\"" + n + "\"}}}");
    }

    void stop() throws InterruptedException {
      clock.shutdownNow();
      pool.shutdown();
      pool.awaitTermination(30, TimeUnit.SECONDS);
    }
  }

  static String churnNamespace(int n) {
    return String.format(Locale.ROOT, "%s-%02d", PREFIX, n);
  }

  /**
   * The churn namespaces, and in the first a Deployment annotated on its metadata only (no
   * replicas): the review's pod names its ReplicaSet as owner, so the gate reads both from cache.
   */
  private byte[] ownedPodReview() throws Exception {
    for (int n = 0; n < CHURN_NAMESPACES; n++) {
      ScaleBenchmark.labelledNamespace(admin, churnNamespace(n), PREFIX);
    }
    String namespace = churnNamespace(0);
    // Made here, not by the controller manager: at this scale it is minutes behind. One per run.
    String app = "orders-" + RUN;
    ReplicaSet owner = admin.apps().replicaSets().inNamespace(namespace).withName(app + "-0").get();
    if (owner == null) {
      owner =
          ScaleBenchmark.deploymentWithReplicaSet(
              admin,
              namespace,
              app,
              Map.of("app", app),
              Map.of("migrate.io/job", "orders-migrate"));
    }
    String review;
    try (InputStream in =
        ScaleChurn.class.getResourceAsStream("/reviews/deployment-owned-pod-review.json")) {
      review = new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
    return review
        .replace("orders-api-7d9f8b6c5d", owner.getMetadata().getName())
        .replace("0b1f4a9e-5c52-4d1b-9a43-3f2f7f1c6a10", owner.getMetadata().getUid())
        .replace("\"namespace\": \"shop\"", "\"namespace\": \"" + namespace + "\"")
        .replace("\"namespace\":\"shop\"", "\"namespace\":\"" + namespace + "\"")
        .getBytes(StandardCharsets.UTF_8);
  }

  private ScaleChurn(ScaleChurn one, int otherProbePort) {
    this.admin = one.admin;
    this.scalePrefix = one.scalePrefix;
    this.jobs = one.jobs;
    this.namespaces = one.namespaces;
    this.admissionPort = one.admissionPort;
    this.probePorts = List.of(one.probePorts.get(0), otherProbePort);
    this.gatePid = one.gatePid;
    this.gcLog = one.gcLog;
    this.apiPort = one.apiPort;
    this.trust = one.trust;
  }

  /** The same scene with a second replica: its metrics count too (admission goes to the first). */
  ScaleChurn withSecondReplica(int probePort) {
    return new ScaleChurn(this, probePort);
  }

  /** A churn window with every replica running (started after the single-replica windows). */
  Window replicasWindow(Duration length, int rate) throws Exception {
    return window(
        probePorts.size() + " replicas, churn " + rate + " updates/s",
        length,
        ownedPodReview(),
        rate,
        Disruption.NONE);
  }

  /**
   * Every replica's /metrics summed per sample; gauges of the cluster's state (tracked Jobs, ledger
   * entries) are the first replica's.
   */
  Map<String, Double> gateMetrics() throws Exception {
    Map<String, Double> sum = new TreeMap<>();
    Map<String, Double> first = null;
    for (int port : probePorts) {
      Map<String, Double> one = gateMetrics(port);
      first = first == null ? one : first;
      one.forEach((key, value) -> sum.merge(key, value, Double::sum));
    }
    for (String gauge : List.of("migrate_gate_tracked_jobs", "migrate_gate_ledger_entries")) {
      if (first.containsKey(gauge)) {
        sum.put(gauge, first.get(gauge));
      }
    }
    return sum;
  }

  /** One gate's /metrics as sample → value (labels kept as written). */
  static Map<String, Double> gateMetrics(int probePort) throws Exception {
    HttpClient http = HttpClient.newHttpClient();
    String text =
        http.send(
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + probePort + "/metrics"))
                    .timeout(Duration.ofSeconds(10))
                    .build(),
                HttpResponse.BodyHandlers.ofString())
            .body();
    Map<String, Double> samples = new TreeMap<>();
    for (String line : text.split("\n")) {
      Matcher m = SAMPLE.matcher(line);
      if (m.matches()) {
        samples.put(m.group(1), Double.parseDouble(m.group(2)));
      }
    }
    return samples;
  }

  /** Markdown: one column per window. */
  static String report(List<Window> windows) {
    StringBuilder text = new StringBuilder();
    text.append("\n| figure |");
    windows.forEach(w -> text.append(' ').append(w.name()).append(" |"));
    text.append("\n| --- |");
    windows.forEach(w -> text.append(" --- |"));
    text.append('\n');
    row(text, windows, "window", w -> String.format(Locale.ROOT, "%.1f s", w.seconds()));
    row(
        text,
        windows,
        "churn requests sent / failed / skipped",
        w -> w.churnSent() + " / " + w.churnFailed() + " / " + w.churnSkipped());
    row(text, windows, "gate connections to the API server cut", w -> "" + w.connectionsCut());
    row(
        text,
        windows,
        "Job list pages (a full list: one per "
            + io.migrategate.gate.kube.KubernetesClients.LIST_PAGE
            + " Jobs)",
        w -> Long.toString((long) requests(w, "list jobs")));
    row(text, windows, "gate peak RSS in the window", w -> (w.peakRssBytes() >> 20) + " MiB");
    row(
        text,
        windows,
        "after the window: gate's Jobs = cluster's Jobs within",
        w ->
            w.churnSent() == 0
                ? "-"
                : w.convergedMillis() < 0
                    ? "**never (2 min)**"
                    : String.format(Locale.ROOT, "%.1f s", w.convergedMillis() / 1000.0));
    row(
        text,
        windows,
        "admission reviews (" + ADMISSION_RATE + "/s, c=" + CONCURRENCY + ") / failed",
        w -> w.admissionMicros().size() + " / " + w.admissionFailures());
    row(
        text,
        windows,
        "admission p50 / p99 / max, client side",
        w -> {
          List<Long> sorted = new ArrayList<>(w.admissionMicros());
          Collections.sort(sorted);
          return ms(percentile(sorted, 0.50))
              + " / "
              + ms(percentile(sorted, 0.99))
              + " / "
              + ms(sorted.isEmpty() ? 0 : sorted.get(sorted.size() - 1));
        });
    row(
        text,
        windows,
        "gate histogram: answered within 5 ms / 10 ms",
        w -> {
          double count = w.metric("migrate_gate_admission_duration_seconds_count");
          return String.format(
              Locale.ROOT,
              "%.2f %% / %.2f %%",
              100
                  * w.metric("migrate_gate_admission_duration_seconds_bucket{le=\"0.005\"}")
                  / count,
              100
                  * w.metric("migrate_gate_admission_duration_seconds_bucket{le=\"0.01\"}")
                  / count);
        });
    row(
        text,
        windows,
        "gate GC pauses: count / longest / total",
        w ->
            String.format(
                Locale.ROOT,
                "%d / %.1f ms / %.0f ms",
                w.gcPauseMillis().size(),
                w.gcPauseMillis().stream().mapToDouble(Double::doubleValue).max().orElse(0),
                w.gcPauseMillis().stream().mapToDouble(Double::doubleValue).sum()));
    row(
        text,
        windows,
        "owner lookups from cache / by API GET",
        w ->
            (long) w.metric("migrate_gate_owner_lookups_total{source=\"cache\"}")
                + " / "
                + (long) w.metric("migrate_gate_owner_lookups_total{source=\"api\"}"));
    row(
        text,
        windows,
        "ledger writes/s / written KiB/s / conflicts",
        w ->
            String.format(
                Locale.ROOT,
                "%.2f / %.1f / %d",
                w.metric("migrate_gate_ledger_writes_total") / w.seconds(),
                w.metric("migrate_gate_ledger_written_bytes_total") / 1024 / w.seconds(),
                (long) w.metric("migrate_gate_ledger_write_conflicts_total")));
    row(
        text,
        windows,
        "ledger entries at the end",
        w -> Long.toString((long) w.metric("migrate_gate_ledger_entries")));
    row(
        text,
        windows,
        "gate → API server requests per minute, all",
        w -> String.format(Locale.ROOT, "%.1f", requests(w, "") * 60 / w.seconds()));
    for (String key : requestKeys(windows)) {
      row(
          text,
          windows,
          "&nbsp;&nbsp;" + key,
          w -> String.format(Locale.ROOT, "%.1f", requests(w, key) * 60 / w.seconds()));
    }
    return text.toString();
  }

  private static final String REQUESTS = "migrate_gate_api_requests_total{";

  /** verb resource keys seen in any window. */
  private static List<String> requestKeys(List<Window> windows) {
    java.util.TreeSet<String> keys = new java.util.TreeSet<>();
    for (Window w : windows) {
      w.gateMetrics()
          .forEach(
              (sample, value) -> {
                if (sample.startsWith(REQUESTS) && value > 0) {
                  keys.add(requestKey(sample));
                }
              });
    }
    return new ArrayList<>(keys);
  }

  private static String requestKey(String sample) {
    Matcher m = REQUEST_LABELS.matcher(sample);
    return m.find() ? m.group(1) + " " + m.group(2) : sample;
  }

  /** Requests of one verb-resource key, or all ({@code ""}). */
  private static double requests(Window w, String key) {
    double sum = 0;
    for (Map.Entry<String, Double> sample : w.gateMetrics().entrySet()) {
      if (sample.getKey().startsWith(REQUESTS)
          && (key.isEmpty() || requestKey(sample.getKey()).equals(key))) {
        sum += sample.getValue();
      }
    }
    return sum;
  }

  private static void row(
      StringBuilder text,
      List<Window> windows,
      String name,
      java.util.function.Function<Window, String> value) {
    text.append("| ").append(name).append(" |");
    windows.forEach(w -> text.append(' ').append(value.apply(w)).append(" |"));
    text.append('\n');
  }

  private static long percentile(List<Long> sorted, double p) {
    if (sorted.isEmpty()) {
      return 0;
    }
    return sorted.get(Math.min(sorted.size() - 1, (int) Math.ceil(p * sorted.size()) - 1));
  }

  private static String ms(long micros) {
    return String.format(Locale.ROOT, "%.2f ms", micros / 1000.0);
  }
}
