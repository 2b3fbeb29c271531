package io.migrategate.gate;

import io.migrategate.gate.waitapi.FakeJwt;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code benchmarks/gate-load/run}: issue 12's load against the gate in a JVM of its own, started
 * as its image starts it (gate.jvmopts) under a 512 MiB memory limit ({@code -XX:MaxRAM=512m}: the
 * heap is 60% of it, 307 MiB). One scenario per run:
 *
 * <ul>
 *   <li>{@code one-pod}: from one address (127.0.0.2), N idle TLS connections over both ports and a
 *       flood of bogus-token wait requests;
 *   <li>{@code many-pods}: the same from 80 addresses (127.0.1.1-80), enough to fill both ports'
 *       connection bounds.
 * </ul>
 *
 * Meanwhile the API server (127.0.0.1) sends an admission review every 100 ms and a legitimate
 * waiter opens a stream every second. A fake API server answers TokenReviews in 5 ms. Prints a
 * Markdown report: docs/benchmarks/gate-load.md has the method and the figures.
 *
 * <pre>GateLoadBenchmark GATE_JAR OUT_DIR SCENARIO IDLE_CONNECTIONS FLOOD_PER_SECOND SECONDS</pre>
 */
public final class GateLoadBenchmark {
  private GateLoadBenchmark() {}

  public static void main(String[] args) throws Exception {
    Path jar = Path.of(args[0]);
    Path out = Files.createDirectories(Path.of(args[1]));
    String scenario = args[2];
    int idle = Integer.parseInt(args[3]);
    int rate = Integer.parseInt(args[4]);
    Duration duration = Duration.ofSeconds(Long.parseLong(args[5]));
    List<String> attackers = new ArrayList<>();
    if (scenario.equals("many-pods")) {
      for (int i = 1; i <= 80; i++) {
        attackers.add("127.0.1." + i);
      }
    } else {
      attackers.add("127.0.0.2");
    }

    String legitToken = FakeJwt.podBound();
    GateCommand.Tls tls = GateCommand.Tls.writeTo(out);
    int port = freePort();
    int waitPort = freePort();
    int probePort = freePort();
    try (FakeApiServer api = new FakeApiServer(Duration.ofMillis(5), legitToken)) {
      List<String> jvmOptions =
          new ArrayList<>(
              Files.readAllLines(
                      Path.of(System.getProperty("migrategate.projectRoot", "."))
                          .resolve("webhook/src/main/jvm/gate.jvmopts"))
                  .stream()
                  .map(String::trim)
                  .filter(line -> !line.isEmpty() && !line.startsWith("#"))
                  .toList());
      jvmOptions.addAll(List.of("-XX:MaxRAM=512m", "-Xlog:gc:file=" + out.resolve("gc.log")));
      List<String> command =
          new GateCommand(
                  jar,
                  jvmOptions,
                  tls.cert(),
                  tls.key(),
                  "migrate-gate",
                  api.kubeconfig(out),
                  List.of())
              .build(port, waitPort, probePort);
      Process gate =
          new ProcessBuilder(command)
              .redirectErrorStream(true)
              .redirectOutput(out.resolve("gate.log").toFile())
              .start();
      try {
        awaitReady(probePort, gate);
        long pid = gate.pid();
        LoadScenario.Result result =
            LoadScenario.run(
                new LoadScenario.Settings(
                    port,
                    waitPort,
                    tls.caPem(),
                    attackers,
                    idle,
                    rate,
                    duration,
                    legitToken,
                    Files.readAllBytes(
                        Path.of(System.getProperty("migrategate.projectRoot", "."))
                            .resolve(
                                "webhook/src/test/resources/reviews/deployment-pod-review.json")),
                    () -> rssBytes(pid)));
        String metrics = get("http://127.0.0.1:" + probePort + "/metrics");
        long peakRss = status(pid, "VmHWM");
        report(
            scenario, attackers.size(), idle, rate, duration, result, api, metrics, peakRss, out);
      } finally {
        gate.destroy();
        gate.waitFor();
      }
    }
  }

  private static void report(
      String scenario,
      int addresses,
      int idle,
      int rate,
      Duration duration,
      LoadScenario.Result result,
      FakeApiServer api,
      String metrics,
      long peakRss,
      Path out)
      throws IOException {
    long[] heap = heapFromGcLog(out.resolve("gc.log"));
    StringBuilder text = new StringBuilder();
    text.append(
        String.format(
            Locale.ROOT,
            "### %s: %d idle connections and %d bogus-token requests/s from %d address(es),"
                + " flood for %.0f s%n%n",
            scenario,
            idle,
            rate,
            addresses,
            result.floodSeconds()));
    text.append("| figure | value |\n| --- | --- |\n");
    row(
        text,
        "idle connections: attempted / still open at the end / closed by the gate (a bound, or"
            + " the idle timeout) / failed",
        result.idleAttempted()
            + " / "
            + result.idleHeld()
            + " / "
            + result.idleClosedByGate()
            + " / "
            + result.idleFailed());
    row(
        text,
        "flood: sent / answered per second / by status / client errors",
        result.floodSent()
            + " / "
            + String.format(Locale.ROOT, "%.0f", result.floodRate(duration))
            + " / "
            + result.floodStatuses()
            + " / "
            + result.floodErrors());
    row(
        text,
        "TokenReviews reaching the API server / most in flight",
        api.tokenReviews.sum() + " / " + api.maxReviewsInFlight.get());
    row(
        text,
        "admission reviews (every 100 ms): answered / failed",
        result.admissionMicros().size() + " / " + result.admissionFailures());
    row(
        text,
        "admission latency p50 / p99 / max",
        String.format(
            Locale.ROOT,
            "%.1f ms / %.1f ms / %.1f ms",
            result.admissionPercentileMicros(0.5) / 1000.0,
            result.admissionPercentileMicros(0.99) / 1000.0,
            result.admissionMaxMicros() / 1000.0));
    row(
        text,
        "legitimate waiter (a stream a second): opened / slowest / failed",
        result.legitMillis().size()
            + " / "
            + result.legitMillis().stream().mapToLong(Long::longValue).max().orElse(-1)
            + " ms / "
            + result.legitFailures());
    row(
        text,
        "gate RSS: max sampled / peak (VmHWM), limit 512 MiB",
        (result.maxMemory() >> 20) + " MiB / " + (peakRss >> 20) + " MiB");
    row(
        text,
        "gate heap (GC log): most before a GC / most after a GC / max",
        (heap[0] >> 20) + " MiB / " + (heap[1] >> 20) + " MiB / " + (heap[2] >> 20) + " MiB");
    for (String series :
        List.of(
            "migrate_gate_connections_rejected_total",
            "migrate_gate_connections_evicted_total",
            "migrate_gate_token_reviews_total",
            "migrate_gate_token_reviews_busy_total",
            "migrate_gate_wait_requests_total",
            "migrate_gate_worker_rejections_total")) {
      StringBuilder values = new StringBuilder();
      for (String line : metrics.split("\n")) {
        if (line.startsWith(series) && !line.startsWith("#")) {
          values.append(values.length() == 0 ? "" : ", ").append(line.substring(series.length()));
        }
      }
      row(text, "`" + series + "`", values.toString());
    }
    System.out.println(text);
    Files.writeString(out.resolve("report-" + scenario + ".md"), text);
  }

  private static void row(StringBuilder text, String name, String value) {
    text.append("| ").append(name).append(" | ").append(value.replace("|", "\\|")).append(" |\n");
  }

  /** From -Xlog:gc lines such as "Pause Young (Allocation Failure) 85M->12M(307M) 3.1ms". */
  static long[] heapFromGcLog(Path log) throws IOException {
    Pattern pause = Pattern.compile("(\\d+)M->(\\d+)M\\((\\d+)M\\)");
    long before = 0;
    long after = 0;
    long max = 0;
    if (Files.exists(log)) {
      for (String line : Files.readAllLines(log)) {
        Matcher m = pause.matcher(line);
        if (m.find()) {
          before = Math.max(before, Long.parseLong(m.group(1)) << 20);
          after = Math.max(after, Long.parseLong(m.group(2)) << 20);
          max = Math.max(max, Long.parseLong(m.group(3)) << 20);
        }
      }
    }
    return new long[] {before, after, max};
  }

  static long rssBytes(long pid) {
    return status(pid, "VmRSS");
  }

  /** A memory line of /proc/PID/status, in bytes (0 if unreadable). */
  static long status(long pid, String field) {
    try {
      for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "status"))) {
        if (line.startsWith(field + ":")) {
          return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
        }
      }
    } catch (IOException | NumberFormatException e) {
      return 0;
    }
    return 0;
  }

  private static void awaitReady(int probePort, Process gate) throws Exception {
    long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    while (System.nanoTime() < deadline) {
      if (!gate.isAlive()) {
        throw new IllegalStateException("the gate exited with " + gate.exitValue());
      }
      try {
        HttpResponse<String> ready =
            HttpClient.newHttpClient()
                .send(
                    HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + probePort + "/readyz"))
                        .timeout(Duration.ofSeconds(2))
                        .build(),
                    HttpResponse.BodyHandlers.ofString());
        if (ready.statusCode() == 200) {
          return;
        }
      } catch (IOException e) {
        // not listening yet
      }
      Thread.sleep(200);
    }
    throw new IllegalStateException("the gate did not become ready in 60 s");
  }

  private static String get(String url) throws Exception {
    return HttpClient.newHttpClient()
        .send(
            HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(10)).build(),
            HttpResponse.BodyHandlers.ofString())
        .body();
  }

  private static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0)) {
      return socket.getLocalPort();
    }
  }
}
