package io.migrategate.manifests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.fail;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.MutatingWebhook;
import io.fabric8.kubernetes.api.model.authentication.TokenRequestBuilder;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.migrategate.certs.CaBundle;
import io.migrategate.certs.Pem;
import io.migrategate.cluster.LocalCluster;
import io.migrategate.cluster.LocalClusterTest;
import io.migrategate.cluster.TokenKubeconfig;
import java.io.Closeable;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.Test;

/**
 * The gate as shipped, run as host processes: the local overlay's objects applied, the gate jar
 * started twice at the same time with a token of the manifests' ServiceAccount (not admin) and
 * {@code --tls-mode self-managed}, both bootstrapping TLS from the overlay's empty CA Secret. They
 * end with one CA, both serve certificates from it, the API server trusts it and calls the gate;
 * stopped and started again, the gate keeps that CA.
 */
@LocalClusterTest
class GateProcessesClusterTest {
  private static final String JOB_ANNOTATION = "migrate.io/job";
  private static final String WAITER_IMAGE = "ghcr.io/migrate-gate/waiter:0.1.0";

  /** Two JVMs starting on a machine the other tests share. */
  private static final Duration START_TIMEOUT = Duration.ofSeconds(120);

  /** Drain delay 0 s and shutdown timeout 2 s (the flags below), with room for the JVM. */
  private static final Duration STOP_TIMEOUT = Duration.ofSeconds(30);

  @Test
  void twoGateProcessesStartedTogetherEndWithOneCaAndARestartKeepsIt(LocalCluster cluster)
      throws Exception {
    Path jar = gateJar();
    try (ClusterScene scene = new ClusterScene(cluster)) {
      String gateNamespace = "mg-procs-" + scene.id;
      String webhookConfiguration = "migrate-gate-" + scene.id;
      int webhookPort = ClusterScene.closedPort();
      Rendered rendered = render(scene, gateNamespace, webhookConfiguration, webhookPort);
      String yaml = rendered.toYaml();
      scene.onClose(() -> scene.kubectl(yaml, "delete", "-f", "-", "--wait=false"));
      scene.kubectl(yaml, "apply", "--server-side", "-f", "-").requireSuccess();
      String serviceAccount = Rendered.name(rendered.one("ServiceAccount"));
      String caSecret = rendered.secretNamed("migrate-gate-ca");
      String ledgerKeySecret = rendered.secretNamed("migrate-gate-ledger-key");
      assertEquals(
          webhookConfiguration, Rendered.name(rendered.one("MutatingWebhookConfiguration")));

      Path runDir = scene.tools.manifests().resolve("target/gate-processes/" + scene.id);
      Files.createDirectories(runDir);
      GateLaunch launch =
          new GateLaunch(
              jar,
              gateNamespace,
              caSecret,
              ledgerKeySecret,
              webhookConfiguration,
              serviceAccount,
              webhookPort);
      String token = gateToken(scene, gateNamespace, serviceAccount);
      StartLine startLine =
          new StartLine(URI.create(scene.admin.getConfiguration().getMasterUrl()));
      scene.onClose(startLine::close);
      List<GateProcess> processes = new ArrayList<>();
      scene.onClose(() -> processes.forEach(GateProcess::destroy));

      String appNamespace =
          scene.namespace(
              "mg-procs-app", Map.of("pod-security.kubernetes.io/enforce", "restricted"));
      try {
        // 1. Two gates at the same instant: the second starts before the first can be ready, and
        // the start line lets their first API calls (reading the empty CA Secret) go together.
        Path kubeconfigA =
            TokenKubeconfig.write(
                runDir.resolve("gate-a.kubeconfig"),
                scene.admin.getConfiguration(),
                startLine.url(0),
                "gate",
                token,
                null);
        Path kubeconfigB =
            TokenKubeconfig.write(
                runDir.resolve("gate-b.kubeconfig"),
                scene.admin.getConfiguration(),
                startLine.url(1),
                "gate",
                token,
                null);
        GateProcess a = GateProcess.start("gate-a", launch, kubeconfigA, webhookPort, runDir);
        processes.add(a);
        GateProcess b =
            GateProcess.start("gate-b", launch, kubeconfigB, ClusterScene.closedPort(), runDir);
        processes.add(b);
        assertFalse(a.ready(), "gate-a was ready before gate-b started: they did not race");
        LocalCluster.await(
            "both gates calling the API server",
            START_TIMEOUT,
            () -> a.requireAlive() && b.requireAlive() && startLine.allArrived());
        a.awaitReady();
        b.awaitReady();

        // 2. One CA: in the Secret, in every webhook entry, behind both served certificates.
        X509Certificate ca = assertOneCa(scene, gateNamespace, caSecret, webhookConfiguration);
        X509Certificate leafA = servedLeaf(a, ca);
        X509Certificate leafB = servedLeaf(b, ca);
        assertNotEquals(
            leafA.getSerialNumber(), leafB.getSerialNumber(), "each gate mints its own leaf");
        List<String> caWrites = new ArrayList<>(a.caEvents("stored|created"));
        caWrites.addAll(b.caEvents("stored|created"));
        assertEquals(1, caWrites.size(), "exactly one gate wrote a CA: " + caWrites);
        // Which gate wins, and whether the loser read the Secret empty (lost_write_race=true),
        // differs from run to run; the outcome must not.
        System.out.println(
            "CA bootstrap: "
                + a.caEvents("stored|created|adopted")
                + " "
                + b.caEvents("stored|created|adopted"));
        String secretVersion =
            secret(scene, gateNamespace, caSecret).getMetadata().getResourceVersion();

        // 3. The API server trusts that CA and calls the gate.
        assertInjected(scene, appNamespace, "before-restart");
        // The shipped alerts and dashboard query only what this gate exposes.
        String exposition = a.metrics();
        Files.writeString(runDir.resolve("gate-a.metrics"), exposition);
        assertEquals(
            List.of(),
            MonitoringQueries.missing(
                MonitoringQueries.shipped(scene.tools.manifests()), exposition),
            "components/monitoring (and the chart's copy) against gate-a's /metrics, "
                + runDir.resolve("gate-a.metrics"));

        // 4. Both stop on SIGTERM; one starts again and keeps the CA.
        a.stop();
        b.stop();
        Path direct =
            TokenKubeconfig.write(
                runDir.resolve("gate-a-restarted.kubeconfig"),
                scene.admin.getConfiguration(),
                scene.admin.getConfiguration().getMasterUrl(),
                "gate",
                token,
                null);
        GateProcess restarted =
            GateProcess.start("gate-a-restarted", launch, direct, webhookPort, runDir);
        processes.add(restarted);
        restarted.awaitReady();
        X509Certificate caAfter = assertOneCa(scene, gateNamespace, caSecret, webhookConfiguration);
        assertEquals(ca, caAfter, "the restarted gate keeps the CA (same certificate)");
        assertEquals(ca.getSerialNumber(), caAfter.getSerialNumber(), "same CA serial");
        assertEquals(ca.getPublicKey(), caAfter.getPublicKey(), "same CA key");
        assertEquals(
            secretVersion,
            secret(scene, gateNamespace, caSecret).getMetadata().getResourceVersion(),
            "a restart reads the CA Secret, it does not write it");
        X509Certificate leafRestarted = servedLeaf(restarted, ca);
        assertFalse(
            Set.of(leafA.getSerialNumber(), leafB.getSerialNumber())
                .contains(leafRestarted.getSerialNumber()),
            "the restarted gate mints a new leaf (none is stored)");
        assertEquals(
            List.of(), restarted.caEvents("stored|created"), "the restarted gate writes no CA");
        assertInjected(scene, appNamespace, "after-restart");
        restarted.stop();
      } catch (Exception | AssertionError e) {
        StringBuilder logs = new StringBuilder(String.valueOf(e.getMessage()));
        for (GateProcess process : processes) {
          logs.append("\n\n").append(process.describeWithTail(40));
        }
        throw new AssertionError(logs.toString(), e);
      }
    }
  }

  /**
   * The local overlay (no Deployment, Service, PodDisruptionBudget or NetworkPolicy; the webhook
   * calls a URL on 127.0.0.1) in a namespace and with names of this test's own, every webhook entry
   * limited to this test's namespaces and calling the test's port.
   */
  private static Rendered render(
      ClusterScene scene, String gateNamespace, String webhookConfiguration, int webhookPort) {
    scene.overlay(
        "procs",
        String.join(
            "\n",
            "resources: [../../../overlays/local]",
            "namespace: " + gateNamespace,
            "nameSuffix: -" + scene.id,
            "patches:",
            "  - target: {kind: MutatingWebhookConfiguration}",
            "    patch: |-",
            scene.scopePatch(3) + ClusterScene.urlPatch(3, webhookPort),
            ""));
    Rendered rendered = Rendered.kustomize(scene.tools, "target/kustomize-test/procs-" + scene.id);
    Set<String> kinds = rendered.objects.stream().map(Rendered::kind).collect(Collectors.toSet());
    for (String absent : List.of("Deployment", "Service", "PodDisruptionBudget", "NetworkPolicy")) {
      assertFalse(kinds.contains(absent), "the local overlay renders no " + absent);
    }
    return rendered;
  }

  /**
   * Exactly one CA: {@code ca.crt} is one certificate, {@code ca-bundle.crt} trusts it alone, and
   * every webhook entry's caBundle is that CA.
   */
  private static X509Certificate assertOneCa(
      ClusterScene scene, String namespace, String caSecret, String webhookConfiguration) {
    Map<String, String> data = secret(scene, namespace, caSecret).getData();
    assertEquals(
        Set.of("ca.crt", "ca.key", "ca-bundle.crt", "next-ca.crt", "next-ca.key"),
        data == null ? Set.of() : data.keySet(),
        "the CA Secret holds the CA, the next one (docs/tls.md) and nothing else");
    List<X509Certificate> signer = Pem.readCertificates(decode(data.get("ca.crt")));
    assertEquals(1, signer.size(), "ca.crt holds one certificate");
    X509Certificate ca = signer.get(0);
    List<X509Certificate> next = Pem.readCertificates(decode(data.get("next-ca.crt")));
    assertEquals(1, next.size(), "next-ca.crt holds one certificate");
    assertEquals(
        List.of(ca, next.get(0)),
        Pem.readCertificates(decode(data.get("ca-bundle.crt"))),
        "ca-bundle.crt trusts the one CA and its successor");
    List<MutatingWebhook> webhooks =
        scene
            .admin
            .admissionRegistration()
            .v1()
            .mutatingWebhookConfigurations()
            .withName(webhookConfiguration)
            .get()
            .getWebhooks();
    assertEquals(3, webhooks.size());
    for (MutatingWebhook webhook : webhooks) {
      assertEquals(
          List.of(ca, next.get(0)),
          CaBundle.decode(webhook.getClientConfig().getCaBundle()),
          "caBundle of webhook entry " + webhook.getName());
    }
    return ca;
  }

  /**
   * The leaf a gate serves on 127.0.0.1, after a handshake that trusts the CA alone and checks the
   * IP address against the certificate, as the API server does.
   */
  private static X509Certificate servedLeaf(GateProcess gate, X509Certificate ca)
      throws GeneralSecurityException, IOException {
    KeyStore trust = KeyStore.getInstance(KeyStore.getDefaultType());
    trust.load(null, null);
    trust.setCertificateEntry("ca", ca);
    TrustManagerFactory trustManagers =
        TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    trustManagers.init(trust);
    SSLContext context = SSLContext.getInstance("TLS");
    context.init(null, trustManagers.getTrustManagers(), null);
    try (SSLSocket socket =
        (SSLSocket) context.getSocketFactory().createSocket("127.0.0.1", gate.port)) {
      socket.setSoTimeout(5_000);
      SSLParameters parameters = socket.getSSLParameters();
      parameters.setEndpointIdentificationAlgorithm("HTTPS");
      socket.setSSLParameters(parameters);
      socket.startHandshake();
      X509Certificate leaf = (X509Certificate) socket.getSession().getPeerCertificates()[0];
      assertEquals(
          ca.getSubjectX500Principal(),
          leaf.getIssuerX500Principal(),
          gate.name + " serves a leaf issued by the CA");
      leaf.verify(ca.getPublicKey());
      return leaf;
    } catch (SSLException e) {
      throw new AssertionError(
          gate.name
              + " on port "
              + gate.port
              + " serves a certificate that does not chain to the CA in the Secret (serial "
              + ca.getSerialNumber().toString(16)
              + ") or does not name 127.0.0.1: "
              + e,
          e);
    }
  }

  /**
   * The API server calls the gate for an annotated pod: first on dry runs until it has loaded the
   * webhook configuration with its caBundle (asynchronously), then for real.
   */
  private static void assertInjected(ClusterScene scene, String namespace, String name) {
    Pod pod = ClusterScene.pod(name, Map.of(JOB_ANNOTATION, "some-job"), Map.of());
    String[] lastError = {"none"};
    LocalCluster.await(
        "the API server calling the gate for pod " + namespace + "/" + name,
        ClusterScene.WAIT,
        () -> {
          try {
            return hasWaiterFirst(
                scene.admin.pods().inNamespace(namespace).resource(pod).dryRun().create());
          } catch (KubernetesClientException e) {
            lastError[0] = e.getMessage();
            return false;
          }
        });
    Pod stored = scene.admin.pods().inNamespace(namespace).resource(pod).create();
    List<String> initContainers =
        stored.getSpec().getInitContainers().stream().map(Container::getName).toList();
    assertEquals(
        "migrate-wait",
        initContainers.isEmpty() ? null : initContainers.get(0),
        "init containers of the stored pod "
            + namespace
            + "/"
            + name
            + ": "
            + initContainers
            + " (last dry-run error: "
            + lastError[0]
            + ")");
  }

  private static boolean hasWaiterFirst(Pod pod) {
    List<Container> init = pod.getSpec().getInitContainers();
    return !init.isEmpty() && init.get(0).getName().equals("migrate-wait");
  }

  private static Secret secret(ClusterScene scene, String namespace, String name) {
    Secret secret = scene.admin.secrets().inNamespace(namespace).withName(name).get();
    if (secret == null) {
      throw new AssertionError("the CA Secret " + namespace + "/" + name + " is gone");
    }
    return secret;
  }

  private static String decode(String base64) {
    return new String(Base64.getDecoder().decode(base64), StandardCharsets.US_ASCII);
  }

  /** The gate's fat jar, built by the webhook module's package phase. */
  private static Path gateJar() {
    Path jar = Tools.get().projectRoot.resolve("webhook/target/migrate-gate-webhook.jar");
    if (!Files.isRegularFile(jar)) {
      fail(
          "the gate jar "
              + jar
              + " is missing: run `mvn -pl webhook package -DskipTests` first (the full `mvn"
              + " verify` builds it before this module's tests)");
    }
    return jar;
  }

  /** A TokenRequest token of the manifests' ServiceAccount: the gate is not admin. */
  private static String gateToken(ClusterScene scene, String namespace, String serviceAccount) {
    return scene
        .admin
        .serviceAccounts()
        .inNamespace(namespace)
        .withName(serviceAccount)
        .tokenRequest(
            new TokenRequestBuilder().withNewSpec().withExpirationSeconds(3600L).endSpec().build())
        .getStatus()
        .getToken();
  }

  /** What every gate process of the test shares: the installed objects and the identity. */
  private record GateLaunch(
      Path jar,
      String namespace,
      String caSecret,
      String ledgerKeySecret,
      String webhookConfiguration,
      String service,
      int webhookPort) {

    /** The JVM options and flags of the demo's host gate (HostGate). */
    List<String> command(Path kubeconfig, int port, int probePort, int waitPort) {
      return List.of(
          Path.of(System.getProperty("java.home"), "bin", "java").toString(),
          "-XX:TieredStopAtLevel=1",
          "-XX:+UseSerialGC",
          "-Xmx256m",
          "-Xshare:auto",
          "-jar",
          jar.toString(),
          "--port",
          Integer.toString(port),
          "--probe-port",
          Integer.toString(probePort),
          "--wait-port",
          Integer.toString(waitPort),
          "--kubeconfig",
          kubeconfig.toString(),
          "--namespace",
          namespace,
          "--waiter-image",
          WAITER_IMAGE,
          "--tls-mode",
          "self-managed",
          "--tls-ca-secret",
          caSecret,
          "--ledger-key-secret",
          ledgerKeySecret,
          "--webhook-configuration",
          webhookConfiguration,
          "--tls-service",
          service,
          "--tls-ip-sans",
          "127.0.0.1",
          "--wait-url",
          "https://127.0.0.1:" + waitPort,
          "--drain-delay",
          "0s",
          "--shutdown-timeout",
          "2s");
    }
  }

  /** One gate JVM on this host, its stdout and stderr in a file under manifests/target. */
  private static final class GateProcess {
    private static final HttpClient HTTP =
        HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    final String name;
    final int port;
    final int probePort;
    final Path log;
    private final Process process;

    private GateProcess(String name, int port, int probePort, Path log, Process process) {
      this.name = name;
      this.port = port;
      this.probePort = probePort;
      this.log = log;
      this.process = process;
    }

    static GateProcess start(String name, GateLaunch launch, Path kubeconfig, int port, Path runDir)
        throws IOException {
      int probePort = ClusterScene.closedPort();
      int waitPort = ClusterScene.closedPort();
      Path log = runDir.resolve(name + ".log");
      ProcessBuilder builder =
          new ProcessBuilder(launch.command(kubeconfig, port, probePort, waitPort))
              .redirectErrorStream(true)
              .redirectOutput(log.toFile())
              .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()));
      // Only the flags configure the gate: nothing from the test JVM's environment.
      builder.environment().keySet().removeIf(k -> k.startsWith("MIGRATE_GATE_"));
      builder.environment().remove("KUBECONFIG");
      return new GateProcess(name, port, probePort, log, builder.start());
    }

    /** True, or fails saying the gate exited. */
    boolean requireAlive() {
      if (!process.isAlive()) {
        throw new AssertionError(
            name + " exited with code " + process.exitValue() + " while starting");
      }
      return true;
    }

    /** The gate's /metrics exposition. */
    String metrics() throws IOException, InterruptedException {
      HttpRequest request =
          HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + probePort + "/metrics"))
              .timeout(Duration.ofSeconds(5))
              .build();
      HttpResponse<String> response = HTTP.send(request, HttpResponse.BodyHandlers.ofString());
      assertEquals(200, response.statusCode(), name + " /metrics");
      return response.body();
    }

    /** /readyz answers 200; false while the gate starts. Fails if the process has exited. */
    boolean ready() {
      requireAlive();
      HttpRequest request =
          HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + probePort + "/readyz"))
              .timeout(Duration.ofSeconds(2))
              .build();
      try {
        return HTTP.send(request, HttpResponse.BodyHandlers.discarding()).statusCode() == 200;
      } catch (IOException e) {
        return false;
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError("interrupted asking " + name + " /readyz", e);
      }
    }

    void awaitReady() {
      LocalCluster.await(
          name + " /readyz answering 200 on probe port " + probePort, START_TIMEOUT, this::ready);
    }

    /** SIGTERM, then the exit code the gate documents for it (0). */
    void stop() throws InterruptedException {
      process.destroy();
      if (!process.waitFor(STOP_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
        throw new AssertionError(name + " did not exit within " + STOP_TIMEOUT + " of SIGTERM");
      }
      assertEquals(0, process.exitValue(), name + " exit code after SIGTERM");
    }

    void destroy() {
      if (process.isAlive()) {
        process.destroyForcibly();
        try {
          process.waitFor(STOP_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
    }

    /** The lines of this gate's log that report how it came to its CA: "tls ca (how)". */
    List<String> caEvents(String how) {
      Pattern event = Pattern.compile("tls ca (?:" + how + ")\\b");
      return lines().stream()
          .filter(l -> event.matcher(l).find())
          .map(l -> name + ": " + l)
          .toList();
    }

    private List<String> lines() {
      try {
        return Files.readAllLines(log, StandardCharsets.UTF_8);
      } catch (IOException e) {
        throw new UncheckedIOException("cannot read " + log, e);
      }
    }

    String describeWithTail(int count) {
      String state = process.isAlive() ? "running" : "exited with code " + process.exitValue();
      String tail;
      try {
        List<String> all = lines();
        tail = String.join("\n", all.subList(Math.max(0, all.size() - count), all.size()));
      } catch (UncheckedIOException e) {
        tail = e.getMessage();
      }
      return name
          + " (port "
          + port
          + ", probe port "
          + probePort
          + ", "
          + state
          + "), last lines of "
          + log
          + ":\n"
          + tail;
    }
  }

  /**
   * TCP relays to the API server, one per gate, that hold every connection until each gate has
   * connected: the gates' first API calls, the read of the empty CA Secret among them, leave
   * together however far apart the two JVMs finish starting. TLS stays end to end, gate to API
   * server. Once released, the relays just pass bytes.
   */
  private static final class StartLine implements AutoCloseable {
    private static final int GATES = 2;

    private final String host;
    private final int port;
    private final List<ServerSocket> relays = new ArrayList<>();
    private final Set<Integer> arrived = ConcurrentHashMap.newKeySet();
    private final CountDownLatch go = new CountDownLatch(1);
    private final Queue<Socket> sockets = new ConcurrentLinkedQueue<>();

    StartLine(URI apiServer) throws IOException {
      this.host = apiServer.getHost();
      this.port = apiServer.getPort();
      for (int gate = 0; gate < GATES; gate++) {
        ServerSocket relay = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        relays.add(relay);
        int index = gate;
        daemon("start-line-" + gate, () -> accept(index, relay));
      }
    }

    String url(int gate) {
      return "https://127.0.0.1:" + relays.get(gate).getLocalPort();
    }

    boolean allArrived() {
      return go.getCount() == 0;
    }

    private void accept(int gate, ServerSocket relay) {
      while (!relay.isClosed()) {
        Socket client;
        try {
          client = relay.accept();
        } catch (IOException e) {
          return; // closed
        }
        sockets.add(client);
        if (arrived.add(gate) && arrived.size() == GATES) {
          go.countDown();
        }
        daemon("start-line-" + gate + "-connection", () -> relay(client));
      }
    }

    private void relay(Socket client) {
      try {
        go.await();
        Socket upstream = new Socket(host, port);
        sockets.add(upstream);
        daemon("start-line-upstream", () -> pipe(upstream, client));
        pipe(client, upstream);
      } catch (IOException e) {
        closeQuietly(client);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        closeQuietly(client);
      }
    }

    /** Copies until either side ends, then closes both: an HTTP connection, no half-close. */
    private static void pipe(Socket from, Socket to) {
      try {
        from.getInputStream().transferTo(to.getOutputStream());
      } catch (IOException e) {
        // the other direction closed the sockets
      } finally {
        closeQuietly(from);
        closeQuietly(to);
      }
    }

    private static void daemon(String name, Runnable task) {
      Thread thread = new Thread(task, name);
      thread.setDaemon(true);
      thread.start();
    }

    private static void closeQuietly(Closeable closeable) {
      try {
        closeable.close();
      } catch (IOException e) {
        // closing anyway
      }
    }

    @Override
    public void close() {
      relays.forEach(StartLine::closeQuietly);
      go.countDown();
      sockets.forEach(StartLine::closeQuietly);
    }
  }
}
