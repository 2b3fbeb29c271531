package io.migrategate.gate;

import io.fabric8.kubernetes.api.model.ServiceAccountBuilder;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.batch.v1.JobBuilder;
import io.fabric8.kubernetes.api.model.rbac.PolicyRuleBuilder;
import io.fabric8.kubernetes.api.model.rbac.RoleBindingBuilder;
import io.fabric8.kubernetes.api.model.rbac.RoleBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.Watch;
import io.fabric8.kubernetes.client.Watcher;
import io.fabric8.kubernetes.client.WatcherException;
import io.migrategate.cluster.LocalCluster;
import io.migrategate.cluster.TokenKubeconfig;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What N waiters on one Job cost the API server, gate mode against direct mode, and how fast each
 * reacts. Run by {@code benchmarks/gate-wait/run}; prints Markdown.
 *
 * <p>Method (docs/benchmarks/gate-wait.md):
 *
 * <ul>
 *   <li>API cost: {@code apiserver_request_total} from the API server's /metrics (admin) before the
 *       waiters connect and after they all got their answer, per verb and resource. The Job
 *       controller's and kwok's own traffic is part of both phases alike.
 *   <li>N waiters as N lightweight HTTP clients in this JVM (one connection each, HTTP/1.1), plus a
 *       few real waiter processes. Gate mode: N streams to the wait API, with one shared token and
 *       with N distinct tokens (each pod has its own). Direct mode: N clients doing what the
 *       waiter's direct mode does (GET the Job, then WATCH it by name).
 *   <li>Reaction: Job success seen by a watch of this JVM → answer received (clients) or process
 *       exited (real waiters, sequential samples).
 * </ul>
 */
public final class GateWaitBenchmark {
  private static final Pattern REQUEST_TOTAL =
      Pattern.compile("^apiserver_request_total\\{([^}]*)\\} ([0-9.e+]+)$");
  private static final Duration DEADLINE = Duration.ofMinutes(3);

  private final GateWaitScene scene;
  private final KubernetesClient admin;
  private final String shop;
  private final Path shopToken;
  private int clients;
  private final int processes;
  private final StringBuilder report = new StringBuilder();
  private final List<String> cpu = new ArrayList<>();

  private GateWaitBenchmark(LocalCluster cluster, int clients, int processes) throws Exception {
    // Every benchmark waiter runs as the same ServiceAccount and calls from 127.0.0.1: lift the
    // bounds per ServiceAccount and per client address.
    String bound = Integer.toString(clients + 100);
    this.scene =
        new GateWaitScene(
            cluster,
            "--max-streams-per-service-account",
            bound,
            "--max-connections-per-client",
            bound,
            "--max-connections",
            bound);
    this.admin = cluster.client();
    this.shop = scene.appNamespace("bench");
    this.shopToken = scene.appToken(shop, "app");
    this.clients = clients;
    this.processes = processes;
  }

  public static void main(String[] args) throws Exception {
    int clients = args.length > 0 ? Integer.parseInt(args[0]) : 500;
    int processes = args.length > 1 ? Integer.parseInt(args[1]) : 5;
    int samples = args.length > 2 ? Integer.parseInt(args[2]) : 30;
    LocalCluster cluster = LocalCluster.shared();
    GateWaitBenchmark benchmark = new GateWaitBenchmark(cluster, clients, processes);
    try {
      LocalCluster.await("the gate's tracker is ready", DEADLINE, benchmark.scene::trackerReady);
      benchmark.run(samples);
      System.out.println(benchmark.report);
    } finally {
      benchmark.scene.close();
    }
    System.exit(0);
  }

  private void run(int samples) throws Exception {
    // Class loading and JIT in the gate (TLS handshakes, the answer path), not measured: a gate
    // in production has served many waiters and admission reviews before.
    gatePhase("warm-up", false);
    directPhase("warm-up-direct");
    report.setLength(0);
    line("## API server requests for %d waiters on one Job", clients);
    line("");
    line(
        "Requests counted by `apiserver_request_total` between the waiters connecting and the last"
            + " one getting its answer (Job created suspended before, resumed once all wait).");
    line("");
    Map<String, Double> gateShared = gatePhase("gate-shared", false);
    Map<String, Double> gateDistinct = gatePhase("gate-distinct", true);
    Map<String, Double> direct = directPhase("direct");
    line("");
    line(
        "The harness itself adds the same in every column: 1 GET and 1 PATCH of the Job (resuming"
            + " it) and 1 WATCH (its reference for \"success seen\"). The Job controller and kwok"
            + " (pods, pods/status, jobs/status, events, leases) run the Job alike in every column."
            + " %d real waiter processes run alongside the %d clients in each column.",
        processes, clients);
    table(
        List.of(
            "gate mode, 1 shared token",
            "gate mode, " + clients + " distinct tokens",
            "direct mode"),
        List.of(gateShared, gateDistinct, direct));
    line("");
    line("## CPU time spent (ms)");
    line("");
    line(
        "From /proc (API server) and the JVM (this benchmark's JVM, which runs the gate; the clients"
            + " run in a JVM of their own). Connecting: from the first client to the last one"
            + " waiting. Answering: from resuming the Job to the last answer. Clock ticks of 10 ms.");
    line("");
    line(
        "| phase | API server, connecting | gate JVM, connecting | API server, answering | gate"
            + " JVM, answering |");
    line("| --- | ---: | ---: | ---: | ---: |");
    cpu.stream().filter(row -> !row.contains("warm-up")).forEach(row -> line("%s", row));
    line("");
    line("## Reaction: Job success → waiter process exited (%d sequential samples each)", samples);
    line("");
    line("| mode | p50 | p90 | p99 | max |");
    line("| --- | --- | --- | --- | --- |");
    reaction("gate", samples, true);
    reaction("direct", samples, false);
  }

  // --- gate mode -----------------------------------------------------------------------------

  private Map<String, Double> gatePhase(String name, boolean distinctTokens) throws Exception {
    String job = name;
    admin.batch().v1().jobs().inNamespace(shop).resource(suspendedJob(job)).create();
    StringBuilder tokens = new StringBuilder();
    String shared = Files.readString(shopToken).trim();
    // Pending, as a pod whose migrate-wait runs is (the gate then verifies its tokens itself).
    io.fabric8.kubernetes.api.model.Pod holder =
        distinctTokens ? scene.holderPod(shop, "app", true) : null;
    for (int i = 0; i < clients; i++) {
      // Each pod's projected token is its own; the kubelet's TokenRequest happens before the pod
      // runs, so these are made before the count starts, as in a cluster. (Bound to one pod here:
      // each TokenRequest still gives a distinct token.)
      tokens
          .append(
              distinctTokens
                  ? scene.boundToken(shop, "app", holder, GateWaitScene.AUDIENCE)
                  : shared)
          .append('\n');
    }
    Path tokensFile = Files.writeString(scene.dir.resolve(name + ".tokens"), tokens);
    Path caFile = Files.writeString(scene.dir.resolve("gate-ca.pem"), scene.caPem);
    Map<String, Double> before = requestCounts();
    Cpu connecting = Cpu.now(apiServerPid());
    long startNanos = System.nanoTime();
    ClientsProcess streams =
        ClientsProcess.start(
            "gate",
            scene.waitUrl() + "/wait/v1/namespaces/" + shop + "/jobs?names=" + job,
            caFile.toString(),
            tokensFile.toString());
    List<WaiterRun> waiters = new ArrayList<>();
    for (int i = 0; i < processes; i++) {
      waiters.add(
          WaiterRun.start(
              scene.dir.resolve(name + "-" + i),
              WaiterRun.gateEnv(scene.waitUrl(), scene.caPem, shopToken, shop, job)));
    }
    return measure(name, "streams", job, streams, waiters, before, connecting, startNanos);
  }

  // --- direct mode ---------------------------------------------------------------------------

  private Map<String, Double> directPhase(String name) throws Exception {
    String job = name;
    admin.batch().v1().jobs().inNamespace(shop).resource(suspendedJob(job)).create();
    String reader = "reader-" + name;
    grantJobReader(reader, job);
    String token = scene.token(shop, reader, null);
    Path kubeconfig = directKubeconfig(reader, token);
    Path tokenFile = Files.writeString(scene.dir.resolve(reader + ".token"), token);
    Path caFile = Files.writeString(scene.dir.resolve("cluster-ca.pem"), clusterCaPem());
    Map<String, Double> before = requestCounts();
    Cpu connecting = Cpu.now(apiServerPid());
    long startNanos = System.nanoTime();
    ClientsProcess streams =
        ClientsProcess.start(
            "direct",
            scene.cluster.apiServerUrl(),
            caFile.toString(),
            tokenFile.toString(),
            shop,
            job,
            Integer.toString(clients));
    List<WaiterRun> waiters = new ArrayList<>();
    for (int i = 0; i < processes; i++) {
      waiters.add(
          WaiterRun.start(
              scene.dir.resolve(name + "-" + i),
              Map.of(
                  "MIGRATE_GATE_NAMESPACE",
                  shop,
                  "MIGRATE_GATE_JOBS",
                  job,
                  "MIGRATE_GATE_KUBECONFIG",
                  kubeconfig.toString(),
                  "MIGRATE_GATE_TIMEOUT",
                  "3m")));
    }
    return measure(name, "watches", job, streams, waiters, before, connecting, startNanos);
  }

  /**
   * The part of a phase that is the same in every mode: once every client and waiter process waits,
   * resumes the Job and records the CPU row, the answer delays and the API requests.
   *
   * @param connections what the clients hold, for the report ("streams", "watches")
   * @return API server requests by verb and resource since {@code before}
   */
  private Map<String, Double> measure(
      String name,
      String connections,
      String job,
      ClientsProcess streams,
      List<WaiterRun> waiters,
      Map<String, Double> before,
      Cpu connecting,
      long startNanos)
      throws Exception {
    streams.awaitReady();
    for (WaiterRun waiter : waiters) {
      LocalCluster.await("waiter waiting", DEADLINE, () -> waiter.logged("suspended"));
    }
    long connectedNanos = System.nanoTime();
    Cpu connected = Cpu.now(apiServerPid());
    Outcome outcome = resumeAndTime(job, streams, waiters, connections.equals("streams"));
    Cpu answered = Cpu.now(apiServerPid());
    Map<String, Double> after = settledRequestCounts();
    cpu.add(
        String.format(
            Locale.ROOT,
            "| %s | %d | %d | %d | %d |",
            name,
            connected.apiServerMillis - connecting.apiServerMillis,
            connected.thisJvmMillis - connecting.thisJvmMillis,
            answered.apiServerMillis - connected.apiServerMillis,
            answered.thisJvmMillis - connected.thisJvmMillis));
    outcome.print(name, connections, (connectedNanos - startNanos) / 1e9);
    if (streams.retries > 0) {
      line(
          "  - %d requests were answered 503 (busy: TokenReviews in flight) and retried after 1 s",
          streams.retries);
    }
    return diff(before, after);
  }

  /** Answer delays (µs after the success was seen) of the clients and of the waiter processes. */
  private final class Outcome {
    final List<Long> clientMicros;
    final List<Long> processMicros;
    final long gateWroteMicros;

    /**
     * @param gateWroteMicros when the gate had sent its last verdict (its verdict counter), or -1
     *     in direct mode
     */
    Outcome(List<Long> clientMicros, List<Long> processMicros, long gateWroteMicros) {
      this.clientMicros = clientMicros;
      this.processMicros = processMicros;
      this.gateWroteMicros = gateWroteMicros;
    }

    void print(String name, String what, double connectSeconds) {
      line(
          "- %s: %d %s connected in %.1f s; clients answered after the success: p50 %s, p99 %s,"
              + " max %s; the %d waiter processes exited after: p50 %s, max %s",
          name,
          clientMicros.size(),
          what,
          connectSeconds,
          millis(percentile(clientMicros, 50)),
          millis(percentile(clientMicros, 99)),
          millis(clientMicros.get(clientMicros.size() - 1)),
          processMicros.size(),
          processMicros.isEmpty() ? "-" : millis(percentile(processMicros, 50)),
          processMicros.isEmpty() ? "-" : millis(processMicros.get(processMicros.size() - 1)));
      if (gateWroteMicros >= 0) {
        line(
            "  - the gate had sent its last verdict %s after the success (its"
                + " `migrate_gate_wait_verdicts_total`, polled every 5 ms)",
            millis(gateWroteMicros));
      }
    }
  }

  // --- reaction of real waiter processes -----------------------------------------------------

  private void reaction(String mode, int samples, boolean gate) throws Exception {
    String reader = "reaction-reader";
    Path kubeconfig = null;
    if (!gate) {
      grantJobReader(reader, null);
      kubeconfig = directKubeconfig(reader, scene.token(shop, reader, null));
    }
    List<Long> micros = new ArrayList<>();
    for (int i = 0; i < samples; i++) {
      String job = "reaction-" + mode + "-" + i;
      admin.batch().v1().jobs().inNamespace(shop).resource(suspendedJob(job)).create();
      Map<String, String> env =
          gate
              ? WaiterRun.gateEnv(scene.waitUrl(), scene.caPem, shopToken, shop, job)
              : Map.of(
                  "MIGRATE_GATE_NAMESPACE",
                  shop,
                  "MIGRATE_GATE_JOBS",
                  job,
                  "MIGRATE_GATE_KUBECONFIG",
                  kubeconfig.toString(),
                  "MIGRATE_GATE_TIMEOUT",
                  "3m");
      try (WaiterRun waiter = WaiterRun.start(scene.dir.resolve(job), env);
          SuccessSeen success = new SuccessSeen(admin, shop, job)) {
        LocalCluster.await("waiter waiting", DEADLINE, () -> waiter.logged("suspended"));
        resume(job);
        if (waiter.awaitExit(DEADLINE) != 0) {
          throw new IllegalStateException("waiter failed:\n" + waiter.output());
        }
        micros.add((waiter.exitedAtNanos.get() - success.atNanos.get(60, TimeUnit.SECONDS)) / 1000);
      }
    }
    Collections.sort(micros);
    line(
        "| %s | %s | %s | %s | %s |",
        mode,
        millis(percentile(micros, 50)),
        millis(percentile(micros, 90)),
        millis(percentile(micros, 99)),
        millis(micros.get(micros.size() - 1)));
  }

  // --- helpers -------------------------------------------------------------------------------

  private Outcome resumeAndTime(
      String job, ClientsProcess streams, List<WaiterRun> waiters, boolean gate) throws Exception {
    String verdicts = "migrate_gate_wait_verdicts_total{outcome=\"succeeded\"}";
    long expectedVerdicts = gate ? scene.metric(verdicts) + clients + waiters.size() : 0;
    CompletableFuture<Long> gateWrote = new CompletableFuture<>();
    if (gate) {
      // The gate's side of the fan-out, apart from the clients' JVM decoding thousands of streams.
      Thread poller =
          new Thread(
              () -> {
                long deadline = System.nanoTime() + DEADLINE.toNanos();
                while (System.nanoTime() < deadline) {
                  if (scene.metric(verdicts) >= expectedVerdicts) {
                    gateWrote.complete(System.nanoTime());
                    return;
                  }
                  LockSupport.parkNanos(5_000_000);
                }
                gateWrote.complete(-1L);
              },
              "verdict-poller");
      poller.setDaemon(true);
      poller.start();
    }
    try (SuccessSeen success = new SuccessSeen(admin, shop, job)) {
      resume(job);
      List<Long> answeredAt = streams.awaitAnswers();
      long seenNanos = success.atNanos.get(60, TimeUnit.SECONDS);
      long seenMicros = success.atEpochMicros.get();
      List<Long> processMicros = new ArrayList<>();
      for (WaiterRun waiter : waiters) {
        if (waiter.awaitExit(DEADLINE) != 0) {
          throw new IllegalStateException("waiter failed:\n" + waiter.output());
        }
        processMicros.add((waiter.exitedAtNanos.get() - seenNanos) / 1000);
        waiter.close();
      }
      List<Long> clientMicros = new ArrayList<>();
      for (long at : answeredAt) {
        clientMicros.add(at - seenMicros);
      }
      Collections.sort(clientMicros);
      Collections.sort(processMicros);
      long wrote = gate ? gateWrote.get(DEADLINE.toSeconds() + 10, TimeUnit.SECONDS) : -1;
      return new Outcome(clientMicros, processMicros, wrote < 0 ? -1 : (wrote - seenNanos) / 1000);
    }
  }

  private void resume(String job) {
    admin
        .batch()
        .v1()
        .jobs()
        .inNamespace(shop)
        .withName(job)
        .edit(j -> new JobBuilder(j).editSpec().withSuspend(false).endSpec().build());
  }

  /** A Role reading Jobs (by name when given), bound to a new ServiceAccount: direct mode. */
  private void grantJobReader(String serviceAccount, String job) {
    admin
        .serviceAccounts()
        .inNamespace(shop)
        .resource(
            new ServiceAccountBuilder()
                .withNewMetadata()
                .withName(serviceAccount)
                .endMetadata()
                .build())
        .create();
    PolicyRuleBuilder rule =
        new PolicyRuleBuilder()
            .withApiGroups("batch")
            .withResources("jobs")
            .withVerbs("get", "list", "watch");
    if (job != null) {
      rule.withResourceNames(job);
    }
    admin
        .rbac()
        .roles()
        .inNamespace(shop)
        .resource(
            new RoleBuilder()
                .withNewMetadata()
                .withName(serviceAccount)
                .endMetadata()
                .withRules(rule.build())
                .build())
        .create();
    admin
        .rbac()
        .roleBindings()
        .inNamespace(shop)
        .resource(
            new RoleBindingBuilder()
                .withNewMetadata()
                .withName(serviceAccount)
                .endMetadata()
                .withNewRoleRef("rbac.authorization.k8s.io", "Role", serviceAccount)
                .addNewSubject()
                .withKind("ServiceAccount")
                .withName(serviceAccount)
                .withNamespace(shop)
                .endSubject()
                .build())
        .create();
  }

  private Path directKubeconfig(String serviceAccount, String token) {
    return TokenKubeconfig.write(
        scene.dir.resolve(serviceAccount + ".kubeconfig"),
        admin.getConfiguration(),
        scene.cluster.apiServerUrl(),
        serviceAccount,
        token,
        null);
  }

  private String clusterCaPem() throws Exception {
    var config = admin.getConfiguration();
    if (config.getCaCertData() != null) {
      return new String(
          Base64.getDecoder().decode(config.getCaCertData()), StandardCharsets.US_ASCII);
    }
    return Files.readString(Path.of(config.getCaCertFile()));
  }

  /**
   * The counters once watches that just ended are counted: the API server counts a WATCH when it
   * ends, a moment after the client went away.
   */
  private Map<String, Double> settledRequestCounts() throws InterruptedException {
    Map<String, Double> previous = requestCounts();
    for (int i = 0; i < 15; i++) {
      // Polling an external counter until it stops moving, not synchronization by sleeping.
      Thread.sleep(1000);
      Map<String, Double> now = requestCounts();
      if (now.getOrDefault("WATCH jobs", 0.0).equals(previous.getOrDefault("WATCH jobs", 0.0))) {
        return now;
      }
      previous = now;
    }
    return previous;
  }

  private long apiServerPid() {
    try {
      Path pids = scene.cluster.logFile("kube-apiserver").getParent().resolveSibling("pids");
      return Long.parseLong(Files.readString(pids.resolve("kube-apiserver.pid")).trim());
    } catch (Exception e) {
      return -1;
    }
  }

  /** CPU time used so far by the API server (from /proc) and by this JVM. */
  private record Cpu(long apiServerMillis, long thisJvmMillis) {
    static Cpu now(long apiServerPid) {
      long api = -1;
      try {
        String stat = Files.readString(Path.of("/proc/" + apiServerPid + "/stat"));
        String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        // utime and stime are fields 14 and 15 of /proc/PID/stat, in clock ticks (100 Hz)
        api = (Long.parseLong(fields[11]) + Long.parseLong(fields[12])) * 10;
      } catch (Exception e) {
        // no /proc: reported as -1
      }
      long jvm =
          ((com.sun.management.OperatingSystemMXBean)
                      java.lang.management.ManagementFactory.getOperatingSystemMXBean())
                  .getProcessCpuTime()
              / 1_000_000;
      return new Cpu(api, jvm);
    }
  }

  /** {@code apiserver_request_total} summed per verb, resource and subresource. */
  private Map<String, Double> requestCounts() {
    Map<String, Double> counts = new TreeMap<>();
    for (String line : admin.raw("/metrics").split("\n")) {
      Matcher m = REQUEST_TOTAL.matcher(line);
      if (!m.matches()) {
        continue;
      }
      Map<String, String> labels = new TreeMap<>();
      for (String pair : m.group(1).split(",")) {
        int eq = pair.indexOf('=');
        labels.put(pair.substring(0, eq), pair.substring(eq + 2, pair.length() - 1));
      }
      String resource = labels.getOrDefault("resource", "");
      if (!labels.getOrDefault("subresource", "").isEmpty()) {
        resource += "/" + labels.get("subresource");
      }
      counts.merge(
          labels.get("verb") + " " + resource, Double.parseDouble(m.group(2)), Double::sum);
    }
    return counts;
  }

  private static Map<String, Double> diff(Map<String, Double> before, Map<String, Double> after) {
    Map<String, Double> diff = new TreeMap<>();
    after.forEach(
        (key, value) -> {
          double delta = value - before.getOrDefault(key, 0.0);
          if (delta > 0) {
            diff.put(key, delta);
          }
        });
    return diff;
  }

  private void table(List<String> names, List<Map<String, Double>> columns) {
    line("");
    StringBuilder header = new StringBuilder("| verb resource |");
    StringBuilder rule = new StringBuilder("| --- |");
    for (String name : names) {
      header.append(' ').append(name).append(" |");
      rule.append(" ---: |");
    }
    line("%s", header);
    line("%s", rule);
    TreeMap<String, Boolean> keys = new TreeMap<>();
    columns.forEach(c -> c.keySet().forEach(k -> keys.put(k, true)));
    double[] totals = new double[columns.size()];
    for (String key : keys.keySet()) {
      StringBuilder row = new StringBuilder("| " + key + " |");
      for (int i = 0; i < columns.size(); i++) {
        double value = columns.get(i).getOrDefault(key, 0.0);
        totals[i] += value;
        row.append(' ').append((long) value).append(" |");
      }
      line("%s", row);
    }
    StringBuilder total = new StringBuilder("| **total** |");
    for (double value : totals) {
      total.append(" **").append((long) value).append("** |");
    }
    line("%s", total);
  }

  private void line(String format, Object... args) {
    report.append(String.format(Locale.ROOT, format, args)).append('\n');
  }

  private static long percentile(List<Long> sorted, int percent) {
    int index = (int) Math.ceil(sorted.size() * percent / 100.0) - 1;
    return sorted.get(Math.max(0, Math.min(sorted.size() - 1, index)));
  }

  private static String millis(long micros) {
    return String.format(Locale.ROOT, "%.1f ms", micros / 1000.0);
  }

  static Job suspendedJob(String name) {
    return new JobBuilder(GateWaitClusterTest.job(name, true, Map.of())).build();
  }

  /** The {@link WaitClients} process of one phase. */
  private static final class ClientsProcess {
    private final Process process;
    private final CompletableFuture<Void> ready = new CompletableFuture<>();
    private final CompletableFuture<List<Long>> answers = new CompletableFuture<>();
    private final StringBuffer output = new StringBuffer();

    /** Requests answered 503 while connecting, retried after 1 s (as migrate-wait does). */
    volatile int retries;

    private ClientsProcess(Process process) {
      this.process = process;
      Thread reader =
          new Thread(
              () -> {
                try (var lines =
                    new java.io.BufferedReader(
                        new java.io.InputStreamReader(
                            process.getInputStream(), StandardCharsets.UTF_8))) {
                  String line;
                  while ((line = lines.readLine()) != null) {
                    output.append(line).append('\n');
                    if (line.equals("READY")) {
                      ready.complete(null);
                    } else if (line.startsWith("RETRIES ")) {
                      retries = Integer.parseInt(line.substring(8));
                    } else if (line.startsWith("ANSWERS ")) {
                      List<Long> times = new ArrayList<>();
                      for (String time : line.substring(8).split(",")) {
                        times.add(Long.parseLong(time));
                      }
                      answers.complete(times);
                    }
                  }
                } catch (java.io.IOException e) {
                  // the process ended
                }
                IllegalStateException ended =
                    new IllegalStateException("the clients process ended:\n" + output);
                ready.completeExceptionally(ended);
                answers.completeExceptionally(ended);
              },
              "wait-clients-output");
      reader.setDaemon(true);
      reader.start();
    }

    static ClientsProcess start(String... args) throws Exception {
      List<String> command = new ArrayList<>();
      command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
      command.add("-Xmx512m");
      command.add("-cp");
      command.add(System.getProperty("java.class.path"));
      command.add(WaitClients.class.getName());
      command.addAll(List.of(args));
      return new ClientsProcess(new ProcessBuilder(command).redirectErrorStream(true).start());
    }

    void awaitReady() throws Exception {
      ready.get(DEADLINE.toSeconds(), TimeUnit.SECONDS);
    }

    List<Long> awaitAnswers() throws Exception {
      try {
        return answers.get(DEADLINE.toSeconds(), TimeUnit.SECONDS);
      } finally {
        process.destroy();
      }
    }
  }

  /** When this JVM's own watch first sees the Job succeed. */
  private static final class SuccessSeen implements AutoCloseable {
    final CompletableFuture<Long> atNanos = new CompletableFuture<>();
    final java.util.concurrent.atomic.AtomicLong atEpochMicros =
        new java.util.concurrent.atomic.AtomicLong();
    private final Watch watch;

    SuccessSeen(KubernetesClient admin, String namespace, String name) {
      watch =
          admin
              .batch()
              .v1()
              .jobs()
              .inNamespace(namespace)
              .withName(name)
              .watch(
                  new Watcher<>() {
                    @Override
                    public void eventReceived(Action action, Job job) {
                      if (job.getStatus() != null
                          && job.getStatus().getConditions() != null
                          && job.getStatus().getConditions().stream()
                              .anyMatch(
                                  c ->
                                      ("Complete".equals(c.getType())
                                              || "SuccessCriteriaMet".equals(c.getType()))
                                          && "True".equals(c.getStatus()))
                          && !atNanos.isDone()) {
                        atEpochMicros.set(
                            java.time.temporal.ChronoUnit.MICROS.between(
                                java.time.Instant.EPOCH, java.time.Instant.now()));
                        atNanos.complete(System.nanoTime());
                      }
                    }

                    @Override
                    public void onClose(WatcherException cause) {}
                  });
    }

    @Override
    public void close() {
      watch.close();
    }
  }
}
