package io.migrategate.gate;

import io.fabric8.kubernetes.api.model.ContainerBuilder;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.DeploymentBuilder;
import io.fabric8.kubernetes.api.model.apps.ReplicaSet;
import io.fabric8.kubernetes.api.model.apps.ReplicaSetBuilder;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.batch.v1.JobBuilder;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.migrategate.gate.ledger.LedgerKey;
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
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

/**
 * {@code benchmarks/scale/run} (issue 13): the gate in a cluster with many Jobs. Populates the
 * local control plane with {@code JOBS} suspended Jobs (pod templates of about {@code
 * TEMPLATE_BYTES}) across {@code NAMESPACES} namespaces (once; a later run reuses them), then
 * starts the gate jar as a process with the image's JVM options under the memory limit {@code
 * LIMIT} and measures: start → ready, start → Job tracker synced, peak RSS, the live heap and where
 * the rest of the memory goes (Native Memory Tracking), and whether it survived. With {@code
 * CHURN_SECONDS} > 0, then a quiet and a churn window ({@link ScaleChurn}). Prints a Markdown
 * report.
 *
 * <pre>
 * ScaleBenchmark KUBECONFIG GATE_JAR OUT_DIR JOBS NAMESPACES TEMPLATE_BYTES LIMIT LABEL
 *     [CHURN_SECONDS [CHURN_RATE [REPLICAS [OWNERS]]]]
 * </pre>
 */
public final class ScaleBenchmark {
  static final String SCALE_LABEL = "migrate-gate.test/scale";
  static final Duration TRACKER_DEADLINE = Duration.ofMinutes(5);

  private ScaleBenchmark() {}

  public static void main(String[] args) throws Exception {
    Path kubeconfig = Path.of(args[0]);
    Path jar = Path.of(args[1]);
    Path out = Files.createDirectories(Path.of(args[2]));
    int jobs = Integer.parseInt(args[3]);
    int namespaces = Integer.parseInt(args[4]);
    int templateBytes = Integer.parseInt(args[5]);
    String limit = args[6];
    String label = args[7];
    int churnSeconds = args.length > 8 ? Integer.parseInt(args[8]) : 0;
    int churnRate = args.length > 9 ? Integer.parseInt(args[9]) : 100;
    int replicas = args.length > 10 ? Integer.parseInt(args[10]) : 1;
    int owners = args.length > 11 ? Integer.parseInt(args[11]) : 0;
    try (KubernetesClient admin =
        new KubernetesClientBuilder()
            .withConfig(Config.fromKubeconfig(Files.readString(kubeconfig)))
            .build()) {
      long populateMillis =
          populate(admin, "mg-scale", jobs, namespaces, templateBytes)
              + populateOwners(admin, "mg-scale", owners, namespaces);
      String gateNamespace = gateNamespace(admin, "mg-scale-gate");
      AfterSync churn =
          churnSeconds <= 0
              ? gate -> ""
              : gate -> {
                ScaleChurn scene =
                    new ScaleChurn(
                        admin,
                        "mg-scale",
                        jobs,
                        namespaces,
                        gate.admissionPort(),
                        gate.probePort(),
                        gate.pid(),
                        gate.caPem(),
                        gate.gcLog());
                String single =
                    ScaleChurn.report(scene.run(Duration.ofSeconds(churnSeconds), churnRate));
                if (replicas < 2) {
                  return single;
                }
                // The second replica starts beside the first, as a rollout or a scale-up does.
                Result second =
                    startGate(
                        kubeconfig,
                        jar,
                        Files.createDirectories(out.resolve("second-replica")),
                        gateNamespace,
                        limit,
                        other ->
                            ScaleChurn.report(
                                List.of(
                                    scene
                                        .withSecondReplica(other.probePort())
                                        .replicasWindow(
                                            Duration.ofSeconds(churnSeconds), churnRate))));
                return single
                    + "\n"
                    + report(
                        "second replica, started beside the first",
                        jobs,
                        namespaces,
                        templateBytes,
                        limit,
                        0,
                        second);
              };
      Result result = startGate(kubeconfig, jar, out, gateNamespace, limit, churn);
      System.out.println(
          report(label, jobs, namespaces, templateBytes, limit, populateMillis, result));
    }
  }

  /** The running, synced gate, for a phase measured after its start. */
  record RunningGate(long pid, int admissionPort, int probePort, String caPem, Path gcLog) {}

  /** Measures something with the synced gate; returns Markdown for the report. */
  interface AfterSync {
    String measure(RunningGate gate) throws Exception;
  }

  /** Suspended Jobs (the Job controller creates no pods), created once: returns the time taken. */
  static long populate(
      KubernetesClient admin, String prefix, int jobs, int namespaces, int templateBytes)
      throws Exception {
    long start = System.nanoTime();
    int existing =
        admin
            .batch()
            .v1()
            .jobs()
            .inAnyNamespace()
            .withLabel(SCALE_LABEL, prefix)
            .list()
            .getItems()
            .size();
    if (existing >= jobs) {
      return 0;
    }
    for (int n = 0; n < namespaces; n++) {
      labelledNamespace(admin, namespace(prefix, n), prefix);
    }
    String filler = "x".repeat(Math.max(0, templateBytes - 300));
    ExecutorService pool = Executors.newFixedThreadPool(8);
    try {
      List<Future<?>> creates = new ArrayList<>();
      for (int i = existing; i < jobs; i++) {
        int index = i;
        creates.add(
            pool.submit(
                () -> {
                  try {
                    admin
                        .batch()
                        .v1()
                        .jobs()
                        .inNamespace(namespace(prefix, index % namespaces))
                        .resource(job(prefix, index, filler))
                        .create();
                  } catch (KubernetesClientException e) {
                    if (e.getCode() != 409) {
                      throw e;
                    }
                  }
                }));
      }
      for (Future<?> create : creates) {
        create.get();
      }
    } finally {
      pool.shutdownNow();
    }
    return Duration.ofNanos(System.nanoTime() - start).toMillis();
  }

  /**
   * Creates namespace {@code name} labelled with the population {@code prefix}, unless it exists.
   */
  static void labelledNamespace(KubernetesClient admin, String name, String prefix) {
    if (admin.namespaces().withName(name).get() == null) {
      admin
          .namespaces()
          .resource(
              new NamespaceBuilder()
                  .withNewMetadata()
                  .withName(name)
                  .addToLabels(SCALE_LABEL, prefix)
                  .endMetadata()
                  .build())
          .create();
    }
  }

  /**
   * {@code owners} paused Deployments without replicas, each with a ReplicaSet it controls: what
   * fills the gate's owner caches (created directly: the local controller manager would make the
   * ReplicaSets at 20 requests/s). Once; returns the time taken.
   */
  static long populateOwners(KubernetesClient admin, String prefix, int owners, int namespaces)
      throws Exception {
    long start = System.nanoTime();
    int existing =
        admin
            .apps()
            .deployments()
            .inAnyNamespace()
            .withLabel(SCALE_LABEL, prefix)
            .list()
            .getItems()
            .size();
    if (existing >= owners) {
      return 0;
    }
    ExecutorService pool = Executors.newFixedThreadPool(8);
    try {
      List<Future<?>> creates = new ArrayList<>();
      for (int i = existing; i < owners; i++) {
        int index = i;
        creates.add(
            pool.submit(
                () -> {
                  String name = String.format(Locale.ROOT, "app-%06d", index);
                  deploymentWithReplicaSet(
                      admin,
                      namespace(prefix, index % namespaces),
                      name,
                      Map.of(SCALE_LABEL, prefix, "app", name),
                      Map.of());
                  return null;
                }));
      }
      for (Future<?> create : creates) {
        create.get();
      }
    } finally {
      pool.shutdownNow();
    }
    return Duration.ofNanos(System.nanoTime() - start).toMillis();
  }

  /**
   * A paused Deployment without replicas and the ReplicaSet it controls, both created here (the
   * controller manager is not waited for); returns the ReplicaSet.
   */
  static ReplicaSet deploymentWithReplicaSet(
      KubernetesClient admin,
      String namespace,
      String name,
      Map<String, String> labels,
      Map<String, String> annotations) {
    Deployment deployment =
        admin
            .apps()
            .deployments()
            .inNamespace(namespace)
            .resource(
                new DeploymentBuilder()
                    .withNewMetadata()
                    .withName(name)
                    .withLabels(labels)
                    .withAnnotations(annotations)
                    .endMetadata()
                    .withNewSpec()
                    .withPaused(true)
                    .withReplicas(0)
                    .withNewSelector()
                    .withMatchLabels(labels)
                    .endSelector()
                    .withNewTemplate()
                    .withNewMetadata()
                    .withLabels(labels)
                    .endMetadata()
                    .withNewSpec()
                    .withContainers(
                        new ContainerBuilder()
                            .withName("app")
                            .withImage("registry.example/app:1")
                            .build())
                    .endSpec()
                    .endTemplate()
                    .endSpec()
                    .build())
            .create();
    return admin
        .apps()
        .replicaSets()
        .inNamespace(namespace)
        .resource(
            new ReplicaSetBuilder()
                .withNewMetadata()
                .withName(name + "-0")
                .withLabels(labels)
                // As the Deployment controller copies them.
                .withAnnotations(annotations)
                .addNewOwnerReference()
                .withApiVersion("apps/v1")
                .withKind("Deployment")
                .withName(name)
                .withUid(deployment.getMetadata().getUid())
                .withController(true)
                .endOwnerReference()
                .endMetadata()
                .withNewSpec()
                .withReplicas(0)
                .withNewSelector()
                .withMatchLabels(labels)
                .endSelector()
                .withTemplate(deployment.getSpec().getTemplate())
                .endSpec()
                .build())
        .create();
  }

  static String namespace(String prefix, int n) {
    return String.format(Locale.ROOT, "%s-%05d", prefix, n);
  }

  private static Job job(String prefix, int index, String filler) {
    return new JobBuilder()
        .withNewMetadata()
        .withName(String.format(Locale.ROOT, "batch-%06d", index))
        .addToLabels(SCALE_LABEL, prefix)
        .endMetadata()
        .withNewSpec()
        .withSuspend(true)
        .withNewTemplate()
        .withNewMetadata()
        // What makes real pod templates big: annotations, env, config.
        .addToAnnotations("example.com/config", filler)
        .endMetadata()
        .withNewSpec()
        .withRestartPolicy("Never")
        .withContainers(
            new ContainerBuilder().withName("batch").withImage("registry.example/batch:1").build())
        .endSpec()
        .endTemplate()
        .endSpec()
        .build();
  }

  /** The gate's namespace with the (empty) ledger key Secret the manifests pre-create. */
  public static String gateNamespace(KubernetesClient admin, String name) {
    if (admin.namespaces().withName(name).get() == null) {
      admin
          .namespaces()
          .resource(new NamespaceBuilder().withNewMetadata().withName(name).endMetadata().build())
          .create();
    }
    if (admin.secrets().inNamespace(name).withName(LedgerKey.DEFAULT_SECRET).get() == null) {
      admin
          .secrets()
          .inNamespace(name)
          .resource(
              new SecretBuilder()
                  .withNewMetadata()
                  .withName(LedgerKey.DEFAULT_SECRET)
                  .endMetadata()
                  .build())
          .create();
    }
    return name;
  }

  record Result(
      long readyMillis,
      long trackerMillis,
      long ownerCachesMillis,
      long peakRssBytes,
      long[] heap,
      long liveHeapBytes,
      long rssBytes,
      Map<String, Long> nativeMemory,
      String afterSync,
      boolean survived,
      int exitCode,
      String logTail) {}

  /** The image's JVM options (gate.jvmopts) under a memory limit of {@code limit}. */
  static List<String> imageJvmOptions(String limit, Path gcLog) throws IOException {
    List<String> options = new ArrayList<>();
    for (String line :
        Files.readAllLines(
            Path.of(System.getProperty("migrategate.projectRoot", "."))
                .resolve("webhook/src/main/jvm/gate.jvmopts"))) {
      if (!line.isBlank() && !line.trim().startsWith("#")) {
        options.add(line.trim());
      }
    }
    // What a container's cgroup limit tells the JVM, here given directly.
    options.add("-XX:MaxRAM=" + limit);
    options.add("-Xlog:gc:file=" + gcLog);
    options.add("-XX:NativeMemoryTracking=summary");
    // To try other settings against the same population: later options win.
    String extra = System.getenv().getOrDefault("GATE_EXTRA_JVM_OPTS", "").trim();
    if (!extra.isEmpty()) {
      options.addAll(List.of(extra.split("\\s+")));
    }
    return options;
  }

  static Result startGate(
      Path kubeconfig, Path jar, Path out, String gateNamespace, String limit, AfterSync afterSync)
      throws Exception {
    GateCommand.Tls tls = GateCommand.Tls.writeTo(out);
    int admissionPort = freePort();
    int probePort = freePort();
    Path gcLog = out.resolve("gc.log");
    Files.deleteIfExists(gcLog);
    List<String> command =
        new GateCommand(
                jar,
                imageJvmOptions(limit, gcLog),
                tls.cert(),
                tls.key(),
                gateNamespace,
                kubeconfig,
                List.of("--audit-interval", "0s"))
            .build(admissionPort, freePort(), probePort);
    Path log = out.resolve("gate.log");
    long start = System.nanoTime();
    Process gate =
        new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    long pid = gate.pid();
    long ready = -1;
    long tracker = -1;
    long owners = -1;
    long peak = 0;
    long deadline = start + TRACKER_DEADLINE.toNanos();
    HttpClient http = HttpClient.newHttpClient();
    try {
      while (gate.isAlive() && (tracker < 0 || owners < 0) && System.nanoTime() < deadline) {
        peak = Math.max(peak, GateLoadBenchmark.status(pid, "VmHWM"));
        String metrics = get(http, "http://127.0.0.1:" + probePort + "/metrics");
        long now = Duration.ofNanos(System.nanoTime() - start).toMillis();
        // Sample lines only: a HELP line may read "... ready 1 when ...".
        if (ready < 0 && metrics.lines().anyMatch("migrate_gate_ready 1"::equals)) {
          ready = now;
        }
        if (tracker < 0 && metrics.lines().anyMatch("migrate_gate_job_tracker_ready 1"::equals)) {
          tracker = now;
        }
        if (owners < 0 && metrics.lines().anyMatch("migrate_gate_owner_caches_synced 1"::equals)) {
          owners = now;
        }
        Thread.sleep(50);
      }
      peak = Math.max(peak, GateLoadBenchmark.status(pid, "VmHWM"));
      boolean survived = gate.isAlive() && tracker >= 0;
      // What the synced gate keeps: the heap after a full collection (a young collection's
      // "after" holds old garbage the serial collector has not collected yet).
      long live = survived ? liveHeapAfterFullGc(pid, gcLog) : -1;
      long rss = survived ? GateLoadBenchmark.rssBytes(pid) : -1;
      Map<String, Long> nativeMemory = survived ? nativeMemory(pid, out) : Map.of();
      String measured =
          survived
              ? afterSync.measure(
                  new RunningGate(pid, admissionPort, probePort, tls.caPem(), gcLog))
              : "";
      peak = Math.max(peak, GateLoadBenchmark.status(pid, "VmHWM"));
      survived = survived && gate.isAlive();
      int exit = -1;
      if (gate.isAlive()) {
        gate.destroy();
        // A gate thrashing in GC may not get through its drain: not this benchmark's question.
        if (!gate.waitFor(30, TimeUnit.SECONDS)) {
          gate.destroyForcibly();
        }
      } else {
        exit = gate.exitValue();
      }
      gate.waitFor();
      List<String> lines = Files.readAllLines(log);
      String tail = String.join("\n", lines.subList(Math.max(0, lines.size() - 5), lines.size()));
      return new Result(
          ready,
          tracker,
          owners,
          peak,
          GateLoadBenchmark.heapFromGcLog(gcLog),
          live,
          rss,
          nativeMemory,
          measured,
          survived,
          exit,
          tail);
    } finally {
      gate.destroyForcibly();
    }
  }

  private static final java.util.regex.Pattern NMT_LINE =
      java.util.regex.Pattern.compile(
          "^-?\\s*([A-Za-z][A-Za-z ]*[A-Za-z]) \\(reserved=\\d+KB, committed=(\\d+)KB\\)");

  /**
   * Committed memory by Native Memory Tracking category ({@code jcmd PID VM.native_memory
   * summary}), in bytes; the whole output is kept in {@code OUT_DIR/nmt.txt}.
   */
  static Map<String, Long> nativeMemory(long pid, Path out) throws Exception {
    Process jcmd =
        new ProcessBuilder(
                Path.of(System.getProperty("java.home"), "bin", "jcmd").toString(),
                Long.toString(pid),
                "VM.native_memory",
                "summary")
            .redirectErrorStream(true)
            .start();
    String text = new String(jcmd.getInputStream().readAllBytes());
    jcmd.waitFor(60, TimeUnit.SECONDS);
    Files.writeString(out.resolve("nmt.txt"), text);
    Map<String, Long> committed = new LinkedHashMap<>();
    java.util.regex.Matcher total =
        java.util.regex.Pattern.compile("Total: reserved=\\d+KB, committed=(\\d+)KB").matcher(text);
    if (total.find()) {
      committed.put("Total", Long.parseLong(total.group(1)) << 10);
    }
    for (String line : text.split("\n")) {
      java.util.regex.Matcher m = NMT_LINE.matcher(line.trim());
      if (m.find()) {
        committed.put(m.group(1), Long.parseLong(m.group(2)) << 10);
      }
    }
    return committed;
  }

  /** {@code jcmd PID GC.run}, then the heap after that full collection from the GC log. */
  static long liveHeapAfterFullGc(long pid, Path gcLog) throws Exception {
    java.util.regex.Pattern full = java.util.regex.Pattern.compile("Pause Full .* \\d+M->(\\d+)M");
    long before = Files.readAllLines(gcLog).stream().filter(l -> full.matcher(l).find()).count();
    Process jcmd =
        new ProcessBuilder(
                Path.of(System.getProperty("java.home"), "bin", "jcmd").toString(),
                Long.toString(pid),
                "GC.run")
            .redirectErrorStream(true)
            .start();
    jcmd.getInputStream().readAllBytes();
    jcmd.waitFor(60, TimeUnit.SECONDS);
    long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    while (System.nanoTime() < deadline) {
      List<java.util.regex.Matcher> fulls =
          Files.readAllLines(gcLog).stream()
              .map(full::matcher)
              .filter(java.util.regex.Matcher::find)
              .toList();
      if (fulls.size() > before) {
        return Long.parseLong(fulls.get(fulls.size() - 1).group(1)) << 20;
      }
      Thread.sleep(100);
    }
    return -1;
  }

  private static String get(HttpClient http, String url) {
    try {
      return http.send(
              HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(2)).build(),
              HttpResponse.BodyHandlers.ofString())
          .body();
    } catch (IOException e) {
      return "";
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return "";
    }
  }

  private static String report(
      String label,
      int jobs,
      int namespaces,
      int templateBytes,
      String limit,
      long populateMillis,
      Result result) {
    StringBuilder text = new StringBuilder();
    text.append(
        String.format(
            Locale.ROOT,
            "### %s: %,d Jobs (templates ~%,d bytes) in %,d namespaces, gate under a %s limit%n%n",
            label,
            jobs,
            templateBytes,
            namespaces,
            limit));
    text.append("| figure | value |\n| --- | --- |\n");
    Map<String, String> rows = new LinkedHashMap<>();
    rows.put("populate (0: reused)", populateMillis / 1000.0 + " s");
    rows.put(
        "start → ready (/readyz)",
        result.readyMillis() < 0 ? "never" : result.readyMillis() / 1000.0 + " s");
    rows.put(
        "start → Job tracker synced",
        result.trackerMillis() < 0 ? "never" : result.trackerMillis() / 1000.0 + " s");
    rows.put(
        "start → owner caches synced",
        result.ownerCachesMillis() < 0 ? "never" : result.ownerCachesMillis() / 1000.0 + " s");
    rows.put("peak RSS (VmHWM)", (result.peakRssBytes() >> 20) + " MiB");
    rows.put(
        "heap: most before a GC / most after a GC / max",
        (result.heap()[0] >> 20)
            + " / "
            + (result.heap()[1] >> 20)
            + " / "
            + (result.heap()[2] >> 20)
            + " MiB");
    rows.put(
        "synced: heap after a full GC (live) / RSS",
        result.liveHeapBytes() < 0
            ? "-"
            : (result.liveHeapBytes() >> 20) + " / " + (result.rssBytes() >> 20) + " MiB");
    if (!result.nativeMemory().isEmpty()) {
      StringBuilder committed = new StringBuilder();
      result
          .nativeMemory()
          .forEach(
              (category, bytes) -> {
                if (bytes >= 4 << 20 || category.equals("Total")) {
                  committed
                      .append(committed.length() == 0 ? "" : ", ")
                      .append(category)
                      .append(' ')
                      .append(bytes >> 20);
                }
              });
      rows.put("synced: committed MiB by NMT category (≥ 4 MiB)", committed.toString());
    }
    rows.put(
        "survived",
        result.survived()
            ? "yes"
            : result.exitCode() >= 0
                ? "no, exit code " + result.exitCode() + "; log tail below"
                : "no: not synced within " + TRACKER_DEADLINE + "; log tail below");
    for (Map.Entry<String, String> row : rows.entrySet()) {
      text.append("| ").append(row.getKey()).append(" | ").append(row.getValue()).append(" |\n");
    }
    text.append(result.afterSync());
    if (!result.survived()) {
      text.append("\n```\n").append(result.logTail()).append("\n```\n");
    }
    return text.toString();
  }

  private static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0)) {
      return socket.getLocalPort();
    }
  }
}
