package io.migrategate.wait;

import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.batch.v1.JobBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.migrategate.cluster.LocalCluster;
import io.migrategate.core.JobVerdict;
import io.migrategate.core.JobVerdictTest;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The waiter's start-up and reaction benchmark against the local control plane (run it with {@code
 * benchmarks/waiter/run}; not a test). Every run is the packaged jar as a separate process with the
 * image's JVM options and the AppCDS archive, authenticated with a ServiceAccount token bound to
 * the documented Role, like an injected init container.
 *
 * <ul>
 *   <li>cold start: process start to exit for a Job that has already succeeded;
 *   <li>reaction: the benchmark is the Job's controller ({@code spec.managedBy}), so it flips the
 *       Job to SuccessCriteriaMet + Complete itself with one status PATCH, and measures from the
 *       PATCH's response to the waiter's exit;
 *   <li>peak RSS of every run ({@code /usr/bin/time}'s maximum resident set size).
 * </ul>
 */
public final class WaiterBenchmark {
  private static final String MANAGED_BY = "migrate-gate.io/benchmark";

  /** The API server's gauge of open WATCH requests on Jobs (a waiter's watch is one). */
  private static final java.util.regex.Pattern JOB_WATCHES =
      java.util.regex.Pattern.compile(
          "^apiserver_longrunning_requests\\{(?=[^}]*resource=\"jobs\")(?=[^}]*verb=\"WATCH\")"
              + "[^}]*\\} ([0-9.e+]+)$");

  private WaiterBenchmark() {}

  /** Open WATCH requests on Jobs, summed over the gauge's series. */
  private static double jobWatches(KubernetesClient admin) {
    double sum = 0;
    for (String line : admin.raw("/metrics").split("\n")) {
      java.util.regex.Matcher matcher = JOB_WATCHES.matcher(line);
      if (matcher.matches()) {
        sum += Double.parseDouble(matcher.group(1));
      }
    }
    return sum;
  }

  public static void main(String[] args) throws Exception {
    int runs = args.length > 0 ? Integer.parseInt(args[0]) : 25;
    int trials = args.length > 1 ? Integer.parseInt(args[1]) : 30;
    Path work = Files.createTempDirectory("waiter-benchmark");
    LocalCluster cluster = LocalCluster.shared();
    KubernetesClient admin = cluster.client();
    String ns = cluster.createNamespace("waiter-bench", Map.of());
    Path kubeconfig =
        ServiceAccounts.kubeconfig(
            cluster,
            work,
            ns,
            "app",
            List.of("get", "list", "watch"),
            List.of("db-migrate", "flip"));
    String loadBefore = loadAverage();

    // cold start against an already-succeeded Job
    admin
        .batch()
        .v1()
        .jobs()
        .inNamespace(ns)
        .resource(WaiterClusterTest.job("db-migrate", false, false, null, null))
        .create();
    LocalCluster.await(
        "Job db-migrate succeeded",
        Duration.ofSeconds(60),
        () ->
            JobVerdict.of(
                        JobVerdictTest.snapshot(
                            admin.batch().v1().jobs().inNamespace(ns).withName("db-migrate").get()),
                        null)
                    .phase()
                == JobVerdict.Phase.SUCCEEDED);
    List<Double> startMillis = new ArrayList<>();
    List<Double> startRss = new ArrayList<>();
    List<Double> startCpu = new ArrayList<>();
    for (int i = -2; i < runs; i++) { // two warm-up runs fill the page cache
      Path dir = Files.createDirectories(work.resolve("start-" + (i + 2)));
      long t0 = System.nanoTime();
      try (WaiterProcess waiter =
          WaiterProcess.start(
              dir,
              time(dir),
              "--namespace",
              ns,
              "--job",
              "db-migrate",
              "--kubeconfig",
              kubeconfig.toString())) {
        int code = waiter.awaitExit(Duration.ofSeconds(60));
        long t1 = waiter.exitedAtNanos();
        if (code != 0) {
          throw new IllegalStateException("waiter exited " + code + ":\n" + waiter.log());
        }
        if (i >= 0) {
          startMillis.add((t1 - t0) / 1e6);
          startRss.add(rssMiB(dir));
          startCpu.add(cpuMillis(dir));
        }
      }
    }

    // reaction: condition flip (status PATCH returned) -> process exit
    List<Double> reactionMillis = new ArrayList<>();
    List<Double> reactionFromRequestMillis = new ArrayList<>();
    List<Double> waitingRss = new ArrayList<>();
    for (int i = 0; i < trials; i++) {
      Path dir = Files.createDirectories(work.resolve("reaction-" + i));
      admin.batch().v1().jobs().inNamespace(ns).resource(managedJob("flip")).create();
      double watchesBefore = jobWatches(admin);
      try (WaiterProcess waiter =
          WaiterProcess.start(
              dir,
              time(dir),
              "--namespace",
              ns,
              "--job",
              "flip",
              "--kubeconfig",
              kubeconfig.toString())) {
        waiter.awaitLog("event=pending", Duration.ofSeconds(60));
        // Measure the watch's reaction, not its setup: flip only once the WATCH is open.
        LocalCluster.await(
            "the waiter's WATCH open on the API server",
            Duration.ofSeconds(60),
            () -> jobWatches(admin) > watchesBefore);
        long t0 = System.nanoTime();
        complete(admin, ns, "flip");
        long t1 = System.nanoTime();
        int code = waiter.awaitExit(Duration.ofSeconds(60));
        long t2 = waiter.exitedAtNanos();
        if (code != 0) {
          throw new IllegalStateException("waiter exited " + code + ":\n" + waiter.log());
        }
        reactionMillis.add((t2 - t1) / 1e6);
        reactionFromRequestMillis.add((t2 - t0) / 1e6);
        waitingRss.add(rssMiB(dir));
      }
      admin.batch().v1().jobs().inNamespace(ns).withName("flip").delete();
      LocalCluster.await(
          "Job flip deleted",
          Duration.ofSeconds(60),
          () -> admin.batch().v1().jobs().inNamespace(ns).withName("flip").get() == null);
    }
    String loadAfter = loadAverage();
    admin.namespaces().withName(ns).delete();

    StringBuilder out = new StringBuilder();
    out.append("| measurement | n | min | p50 | p90 | p99 | max |\n");
    out.append("|---|---|---|---|---|---|---|\n");
    row(out, "cold start to exit, already-succeeded Job (ms)", startMillis);
    row(out, "CPU time (user+sys) of a cold start (ms)", startCpu);
    row(out, "reaction: status PATCH returned -> exit (ms)", reactionMillis);
    row(out, "reaction: status PATCH sent -> exit (ms)", reactionFromRequestMillis);
    row(out, "peak RSS, cold start (MiB)", startRss);
    row(out, "peak RSS, waiting on a watch (MiB)", waitingRss);
    out.append("\nload average (1/5/15 min) before: ")
        .append(loadBefore)
        .append(", after: ")
        .append(loadAfter)
        .append('\n');
    System.out.println(out);
  }

  private static Job managedJob(String name) {
    return new JobBuilder(WaiterClusterTest.job(name, false, false, null, null))
        .editSpec()
        .withManagedBy(MANAGED_BY)
        .endSpec()
        .build();
  }

  /** What the Job controller writes when a Job succeeds, as one status update. */
  private static void complete(KubernetesClient admin, String ns, String name) {
    String now = Instant.now().truncatedTo(ChronoUnit.SECONDS).toString();
    String condition =
        "{\"type\":\"%s\",\"status\":\"True\",\"reason\":\"CompletionsReached\","
            + "\"message\":\"Reached expected number of succeeded pods\",\"lastTransitionTime\":\""
            + now
            + "\"}";
    String patch =
        "{\"status\":{\"startTime\":\""
            + now
            + "\",\"completionTime\":\""
            + now
            + "\",\"succeeded\":1,"
            + "\"conditions\":["
            + String.format(condition, "SuccessCriteriaMet")
            + ","
            + String.format(condition, "Complete")
            + "]}}";
    admin
        .batch()
        .v1()
        .jobs()
        .inNamespace(ns)
        .withName(name)
        .subresource("status")
        .patch(PatchContext.of(PatchType.JSON_MERGE), patch);
  }

  private static List<String> time(Path dir) {
    Path time = Path.of("/usr/bin/time");
    return Files.isExecutable(time)
        ? List.of(time.toString(), "-f", "%M %U %S", "-o", dir.resolve("rss-kib").toString())
        : List.of();
  }

  private static double rssMiB(Path dir) throws IOException {
    String[] fields = timeFields(dir);
    return fields == null ? Double.NaN : Long.parseLong(fields[0]) / 1024.0;
  }

  /** user + system CPU time of the run, in ms. */
  private static double cpuMillis(Path dir) throws IOException {
    String[] fields = timeFields(dir);
    return fields == null
        ? Double.NaN
        : (Double.parseDouble(fields[1]) + Double.parseDouble(fields[2])) * 1000;
  }

  /** /usr/bin/time's "maxrss user system" line, or null without /usr/bin/time. */
  private static String[] timeFields(Path dir) throws IOException {
    Path file = dir.resolve("rss-kib");
    if (!Files.exists(file)) {
      return null;
    }
    List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
    return lines.get(lines.size() - 1).trim().split("\\s+");
  }

  private static String loadAverage() throws IOException {
    String[] parts = Files.readString(Path.of("/proc/loadavg")).split(" ");
    return parts[0] + " " + parts[1] + " " + parts[2];
  }

  private static void row(StringBuilder out, String name, List<Double> values) {
    List<Double> sorted = new ArrayList<>(values);
    Collections.sort(sorted);
    out.append(
        String.format(
            Locale.ROOT,
            "| %s | %d | %.0f | %.0f | %.0f | %.0f | %.0f |%n",
            name,
            sorted.size(),
            sorted.get(0),
            percentile(sorted, 50),
            percentile(sorted, 90),
            percentile(sorted, 99),
            sorted.get(sorted.size() - 1)));
  }

  /** Nearest-rank percentile of sorted values. */
  private static double percentile(List<Double> sorted, int p) {
    int rank = (int) Math.ceil(p / 100.0 * sorted.size());
    return sorted.get(Math.max(0, Math.min(sorted.size() - 1, rank - 1)));
  }
}
