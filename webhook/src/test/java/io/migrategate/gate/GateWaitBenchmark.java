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
import java.io.ByteArrayInputStream;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Flow;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

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

  private GateWaitBenchmark(LocalCluster cluster, int clients, int processes) throws Exception {
    this.scene = new GateWaitScene(cluster);
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
    // Class loading and JIT in the gate and in these clients, not measured.
    int measured = clients;
    clients = Math.min(20, measured);
    gatePhase("warm-up", false);
    directPhase("warm-up-direct");
    clients = measured;
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
    List<String> tokens = new ArrayList<>();
    String shared = Files.readString(shopToken).trim();
    for (int i = 0; i < clients; i++) {
      // Each pod's projected token is its own; the kubelet's TokenRequest happens before the pod
      // runs, so these are made before the count starts, as in a cluster.
      tokens.add(distinctTokens ? scene.token(shop, "app", GateWaitScene.AUDIENCE) : shared);
    }
    HttpClient http = scene.httpClient();
    Map<String, Double> before = requestCounts();
    long startNanos = System.nanoTime();
    List<LineStream> streams = new ArrayList<>();
    for (String token : tokens) {
      streams.add(
          LineStream.open(
              http,
              URI.create(scene.url() + "/wait/v1/namespaces/" + shop + "/jobs?names=" + job),
              token,
              line -> line.contains("\"type\":\"verdict\""),
              line -> line.contains("\"phase\":\"SUSPENDED\"")));
    }
    List<WaiterRun> waiters = new ArrayList<>();
    for (int i = 0; i < processes; i++) {
      waiters.add(
          WaiterRun.start(
              scene.dir.resolve(name + "-" + i),
              WaiterRun.gateEnv(scene.url(), scene.caPem, shopToken, shop, job)));
    }
    awaitReady(streams);
    for (WaiterRun waiter : waiters) {
      LocalCluster.await("waiter waiting", DEADLINE, () -> waiter.logged("suspended"));
    }
    long connectedNanos = System.nanoTime();
    List<Long> fanOut = resumeAndTime(job, streams, waiters);
    Map<String, Double> after = requestCounts();
    line(
        "- %s: %d streams connected in %.1f s; answer after success: p50 %s, p99 %s, max %s",
        name,
        clients,
        (connectedNanos - startNanos) / 1e9,
        millis(percentile(fanOut, 50)),
        millis(percentile(fanOut, 99)),
        millis(fanOut.get(fanOut.size() - 1)));
    return diff(before, after);
  }

  // --- direct mode ---------------------------------------------------------------------------

  private Map<String, Double> directPhase(String name) throws Exception {
    String job = name;
    admin.batch().v1().jobs().inNamespace(shop).resource(suspendedJob(job)).create();
    String reader = "reader-" + name;
    grantJobReader(reader, job);
    String token = scene.token(shop, reader, null);
    Path kubeconfig = directKubeconfig(reader, token);
    HttpClient http =
        HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .sslContext(trusting(clusterCaPem()))
            .connectTimeout(Duration.ofSeconds(10))
            .build();
    String collection =
        scene.cluster.apiServerUrl() + "/apis/batch/v1/namespaces/" + shop + "/jobs";
    Map<String, Double> before = requestCounts();
    long startNanos = System.nanoTime();
    List<LineStream> streams = new ArrayList<>();
    for (int i = 0; i < clients; i++) {
      // What the waiter's direct mode does: GET the Job, then WATCH it by name from its version.
      HttpResponse<String> got =
          http.send(
              HttpRequest.newBuilder(URI.create(collection + "/" + job))
                  .header("Authorization", "Bearer " + token)
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      if (got.statusCode() != 200) {
        throw new IllegalStateException("GET job: HTTP " + got.statusCode() + " " + got.body());
      }
      Matcher version = Pattern.compile("\"resourceVersion\":\"(\\d+)\"").matcher(got.body());
      version.find();
      streams.add(
          LineStream.open(
              http,
              URI.create(
                  collection
                      + "?watch=true&allowWatchBookmarks=true&timeoutSeconds=300&fieldSelector="
                      + URLEncoder.encode("metadata.name=" + job, StandardCharsets.UTF_8)
                      + "&resourceVersion="
                      + version.group(1)),
              token,
              // the waiter's verdict: SuccessCriteriaMet (1.31+) or Complete, whichever comes first
              line ->
                  line.contains("\"type\":\"SuccessCriteriaMet\",\"status\":\"True\"")
                      || line.contains("\"type\":\"Complete\",\"status\":\"True\""),
              line -> true));
    }
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
    // A watch says nothing until something changes: connected is when the response headers came.
    awaitConnected(streams);
    for (WaiterRun waiter : waiters) {
      LocalCluster.await("waiter waiting", DEADLINE, () -> waiter.logged("suspended"));
    }
    long connectedNanos = System.nanoTime();
    List<Long> fanOut = resumeAndTime(job, streams, waiters);
    Map<String, Double> after = requestCounts();
    line(
        "- %s: %d watches connected in %.1f s; answer after success: p50 %s, p99 %s, max %s",
        name,
        clients,
        (connectedNanos - startNanos) / 1e9,
        millis(percentile(fanOut, 50)),
        millis(percentile(fanOut, 99)),
        millis(fanOut.get(fanOut.size() - 1)));
    return diff(before, after);
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
              ? WaiterRun.gateEnv(scene.url(), scene.caPem, shopToken, shop, job)
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

  private List<Long> resumeAndTime(String job, List<LineStream> streams, List<WaiterRun> waiters)
      throws Exception {
    try (SuccessSeen success = new SuccessSeen(admin, shop, job)) {
      resume(job);
      awaitAnswered(streams);
      for (WaiterRun waiter : waiters) {
        if (waiter.awaitExit(DEADLINE) != 0) {
          throw new IllegalStateException("waiter failed:\n" + waiter.output());
        }
        waiter.close();
      }
      long at = success.atNanos.get(60, TimeUnit.SECONDS);
      List<Long> micros = new ArrayList<>();
      for (LineStream stream : streams) {
        micros.add((stream.answeredAtNanos.get() - at) / 1000);
        stream.cancel();
      }
      Collections.sort(micros);
      return micros;
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

  /** Every stream has shown that its waiter is waiting. */
  private static void awaitReady(List<LineStream> streams) throws Exception {
    for (LineStream stream : streams) {
      stream.ready.get(DEADLINE.toSeconds(), TimeUnit.SECONDS);
    }
  }

  private static void awaitAnswered(List<LineStream> streams) throws Exception {
    for (LineStream stream : streams) {
      stream.answeredAtNanos.get(DEADLINE.toSeconds(), TimeUnit.SECONDS);
    }
  }

  private static void awaitConnected(List<LineStream> streams) throws Exception {
    for (LineStream stream : streams) {
      stream.connected.get(DEADLINE.toSeconds(), TimeUnit.SECONDS);
    }
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

  private Path directKubeconfig(String serviceAccount, String token) throws Exception {
    String kubeconfig =
        String.join(
            "\n",
            "apiVersion: v1",
            "kind: Config",
            "clusters:",
            "- name: local",
            "  cluster:",
            "    server: " + scene.cluster.apiServerUrl(),
            "    certificate-authority-data: "
                + Base64.getEncoder()
                    .encodeToString(clusterCaPem().getBytes(StandardCharsets.US_ASCII)),
            "users:",
            "- name: " + serviceAccount,
            "  user:",
            "    token: " + token,
            "contexts:",
            "- name: direct",
            "  context:",
            "    cluster: local",
            "    user: " + serviceAccount,
            "current-context: direct",
            "");
    return Files.writeString(scene.dir.resolve(serviceAccount + ".kubeconfig"), kubeconfig);
  }

  private String clusterCaPem() throws Exception {
    var config = admin.getConfiguration();
    if (config.getCaCertData() != null) {
      return new String(
          Base64.getDecoder().decode(config.getCaCertData()), StandardCharsets.US_ASCII);
    }
    return Files.readString(Path.of(config.getCaCertFile()));
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

  private static SSLContext trusting(String pem) throws Exception {
    KeyStore store = KeyStore.getInstance(KeyStore.getDefaultType());
    store.load(null, null);
    int i = 0;
    for (var certificate :
        CertificateFactory.getInstance("X.509")
            .generateCertificates(
                new ByteArrayInputStream(pem.getBytes(StandardCharsets.US_ASCII)))) {
      store.setCertificateEntry("ca-" + i++, certificate);
    }
    TrustManagerFactory trust =
        TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    trust.init(store);
    SSLContext context = SSLContext.getInstance("TLS");
    context.init(null, trust.getTrustManagers(), null);
    return context;
  }

  /** One client's streamed response, read line by line without a thread of its own. */
  private static final class LineStream implements Flow.Subscriber<String> {
    final CompletableFuture<Void> connected = new CompletableFuture<>();
    final CompletableFuture<Void> ready = new CompletableFuture<>();
    final CompletableFuture<Long> answeredAtNanos = new CompletableFuture<>();
    private final java.util.function.Predicate<String> isAnswer;
    private final java.util.function.Predicate<String> isReady;
    private volatile Flow.Subscription subscription;

    private LineStream(
        java.util.function.Predicate<String> isAnswer,
        java.util.function.Predicate<String> isReady) {
      this.isAnswer = isAnswer;
      this.isReady = isReady;
    }

    static LineStream open(
        HttpClient http,
        URI uri,
        String token,
        java.util.function.Predicate<String> isAnswer,
        java.util.function.Predicate<String> isReady) {
      LineStream stream = new LineStream(isAnswer, isReady);
      http.sendAsync(
              HttpRequest.newBuilder(uri).header("Authorization", "Bearer " + token).build(),
              HttpResponse.BodyHandlers.fromLineSubscriber(stream))
          .whenComplete(
              (response, error) -> {
                if (error != null) {
                  stream.connected.completeExceptionally(error);
                  stream.ready.completeExceptionally(error);
                  stream.answeredAtNanos.completeExceptionally(error);
                } else if (response.statusCode() != 200) {
                  IllegalStateException failure =
                      new IllegalStateException("HTTP " + response.statusCode() + " from " + uri);
                  stream.ready.completeExceptionally(failure);
                  stream.answeredAtNanos.completeExceptionally(failure);
                }
              });
      return stream;
    }

    @Override
    public void onSubscribe(Flow.Subscription subscription) {
      this.subscription = subscription;
      connected.complete(null);
      subscription.request(Long.MAX_VALUE);
    }

    @Override
    public void onNext(String line) {
      if (isReady.test(line)) {
        ready.complete(null);
      }
      if (isAnswer.test(line)) {
        answeredAtNanos.complete(System.nanoTime());
      }
    }

    @Override
    public void onError(Throwable throwable) {
      answeredAtNanos.completeExceptionally(throwable);
    }

    @Override
    public void onComplete() {}

    void cancel() {
      Flow.Subscription s = subscription;
      if (s != null) {
        s.cancel();
      }
    }
  }

  /** When this JVM's own watch first sees the Job succeed. */
  private static final class SuccessSeen implements AutoCloseable {
    final CompletableFuture<Long> atNanos = new CompletableFuture<>();
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
                                          && "True".equals(c.getStatus()))) {
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
