package io.migrategate.gate;

import io.migrategate.gate.admission.AdmissionReviewer;
import io.migrategate.gate.observability.GateLog;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;

/** A gate running in this JVM on free ports, with its certificate in a Secret-like directory. */
public final class GateFixture implements AutoCloseable {
  final Path directory;
  final TestPki pki;
  final SecretVolume secret;
  final TestPki.Issued initialCertificate;
  final Gate gate;
  final HttpClient client;
  private final ByteArrayOutputStream logBytes = new ByteArrayOutputStream();

  GateFixture(AdmissionReviewer reviewer, String... extraArgs) throws Exception {
    this((config, kubernetes, trust) -> reviewer, extraArgs);
  }

  GateFixture(ReviewerFactory reviewers, String... extraArgs) throws Exception {
    directory = Files.createTempDirectory("migrate-gate-test");
    pki = TestPki.create();
    secret = new SecretVolume(directory.resolve("tls"));
    initialCertificate = pki.issue(Duration.ofHours(1));
    secret.publish(initialCertificate);
    List<String> args = new ArrayList<>(List.of(baseArgs(secret)));
    args.addAll(List.of(extraArgs));
    GateConfig config = GateConfig.parse(args, Map.of());
    GateLog log =
        new GateLog(
            GateConfig.LogFormat.TEXT, new PrintStream(logBytes, true, StandardCharsets.UTF_8));
    gate = Gate.start(config, reviewers, log);
    client =
        HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .sslContext(pki.clientContext())
            .connectTimeout(Duration.ofSeconds(30))
            .build();
  }

  /** Flags for a test gate: free ports, no drain delay, an unreachable API server. */
  static String[] baseArgs(SecretVolume secret) {
    return new String[] {
      "--port", "0",
      "--wait-port", "0",
      "--probe-port", "0",
      "--tls-cert-file", secret.certificateFile().toString(),
      "--tls-key-file", secret.keyFile().toString(),
      "--waiter-image", "registry.example.com/migrate-gate/waiter:test",
      "--namespace", "migrate-gate",
      "--kubeconfig", unreachableKubeconfig().toString(),
      "--drain-delay", "0s",
      "--shutdown-timeout", "5s"
    };
  }

  /** A kubeconfig naming a closed local port: the gate must serve regardless. */
  static Path unreachableKubeconfig() {
    try {
      Path file = Files.createTempFile("unreachable", ".kubeconfig");
      Files.writeString(
          file,
          """
          apiVersion: v1
          kind: Config
          clusters:
          - name: nowhere
            cluster:
              server: https://127.0.0.1:1
              insecure-skip-tls-verify: true
          users:
          - name: nobody
            user:
              token: not-a-token
          contexts:
          - name: nowhere
            context:
              cluster: nowhere
              user: nobody
          current-context: nowhere
          """);
      file.toFile().deleteOnExit();
      return file;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static byte[] sampleReview() {
    try (InputStream in =
        GateFixture.class.getResourceAsStream("/reviews/deployment-pod-review.json")) {
      return in.readAllBytes();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  URI mutateUri() {
    return URI.create("https://localhost:" + gate.port() + "/mutate");
  }

  /** A path on the wait API's port. */
  URI waitUri(String path) {
    return URI.create("https://localhost:" + gate.waitPort() + path);
  }

  HttpResponse<String> post(byte[] body, String contentType) throws Exception {
    HttpRequest.Builder request =
        HttpRequest.newBuilder(mutateUri())
            .timeout(Duration.ofSeconds(20))
            .POST(HttpRequest.BodyPublishers.ofByteArray(body));
    if (contentType != null) {
      request.header("Content-Type", contentType);
    }
    return client.send(request.build(), HttpResponse.BodyHandlers.ofString());
  }

  HttpResponse<String> probe(String path) throws Exception {
    return HttpClient.newHttpClient()
        .send(
            HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + gate.probePort() + path))
                .timeout(Duration.ofSeconds(10))
                .build(),
            HttpResponse.BodyHandlers.ofString());
  }

  /**
   * A metric's value from /metrics, e.g. {@code migrate_gate_tls_reloads_total{result="success"}}.
   */
  double metric(String series) throws Exception {
    return metricValue(probe("/metrics").body(), series);
  }

  public static double metricValue(String exposition, String series) {
    for (String line : exposition.split("\n")) {
      if (line.startsWith(series + " ")) {
        return Double.parseDouble(line.substring(series.length() + 1).trim());
      }
    }
    return Double.NaN;
  }

  String log() {
    return logBytes.toString(StandardCharsets.UTF_8);
  }

  static Map<String, String> replace(Map<String, String> base, String key, String value) {
    Map<String, String> copy = new HashMap<>(base);
    copy.put(key, value);
    return copy;
  }

  /** Waits for a condition with a deadline (no fixed sleeps as synchronization). */
  static void await(String what, Duration timeout, BooleanSupplier condition) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("timed out after " + timeout + " waiting for: " + what);
      }
      try {
        Thread.sleep(20);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError("interrupted waiting for: " + what);
      }
    }
  }

  @Override
  public void close() throws IOException {
    gate.drainAndStop();
    try (Stream<Path> files = Files.walk(directory)) {
      files.sorted(Comparator.reverseOrder()).forEach(path -> path.toFile().delete());
    }
  }
}
