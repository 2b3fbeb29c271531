package io.migrategate.gate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** SIGTERM to a gate in its own JVM while reviews are in flight. */
class GracefulShutdownTest {
  private static final String UID = "5e3b8f2a-9c41-4c7e-8d2b-6a1f0e9d7c35";

  @Test
  void sigtermTurnsNotReadyFinishesInFlightReviewsAndExitsZero(@TempDir Path directory)
      throws Exception {
    TestPki pki = TestPki.create();
    SecretVolume secret = new SecretVolume(directory.resolve("tls"));
    secret.publish(pki.issue(Duration.ofHours(1)));
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.add("-Dreview.delay.ms=3000");
    command.add("-cp");
    command.add(System.getProperty("java.class.path"));
    command.add(SlowReviewGateMain.class.getName());
    command.addAll(List.of(GateFixture.baseArgs(secret)));
    command.addAll(List.of("--drain-delay", "3s", "--shutdown-timeout", "15s"));
    // To a file: Process.destroy() closes the pipes, and the log after SIGTERM matters here.
    Path logFile = directory.resolve("gate.log");
    Process gate =
        new ProcessBuilder(command)
            .redirectErrorStream(true)
            .redirectOutput(logFile.toFile())
            .start();
    Supplier<List<String>> output = () -> lines(logFile);
    try {
      GateFixture.await(
          "the gate to start",
          Duration.ofSeconds(60),
          () ->
              output.get().stream().anyMatch(line -> line.contains("msg=started"))
                  || !gate.isAlive());
      String started =
          output.get().stream()
              .filter(line -> line.contains("msg=started"))
              .findFirst()
              .orElseThrow(
                  () ->
                      new AssertionError(
                          "gate did not start:\n" + String.join("\n", output.get())));
      int port = number(started, "port");
      int probePort = number(started, "probe_port");
      HttpClient client =
          HttpClient.newBuilder()
              .version(HttpClient.Version.HTTP_1_1)
              .sslContext(pki.clientContext())
              .build();
      HttpClient probes = HttpClient.newHttpClient();
      URI mutate = URI.create("https://localhost:" + port + "/mutate");

      List<CompletableFuture<HttpResponse<String>>> inFlight = new ArrayList<>();
      for (int i = 0; i < 4; i++) {
        inFlight.add(client.sendAsync(review(mutate), HttpResponse.BodyHandlers.ofString()));
      }
      GateFixture.await(
          "4 reviews in flight",
          Duration.ofSeconds(20),
          () -> metric(probes, probePort, "migrate_gate_inflight_reviews") >= 4);

      gate.destroy(); // SIGTERM

      GateFixture.await(
          "/readyz to report not ready",
          Duration.ofSeconds(10),
          () -> status(probes, probePort, "/readyz") == 503);
      // Still served during the drain delay: endpoints may not have noticed yet.
      CompletableFuture<HttpResponse<String>> late =
          client.sendAsync(review(mutate), HttpResponse.BodyHandlers.ofString());
      inFlight.add(late);

      for (CompletableFuture<HttpResponse<String>> request : inFlight) {
        HttpResponse<String> response = request.get(30, TimeUnit.SECONDS);
        assertEquals(200, response.statusCode(), response.body());
        assertTrue(response.body().contains(UID), response.body());
      }
      assertTrue(
          gate.waitFor(30, TimeUnit.SECONDS),
          "the gate did not exit:\n" + String.join("\n", output.get()));
      String log = String.join("\n", output.get());
      assertEquals(0, gate.exitValue(), log);
      assertTrue(log.contains("msg=draining"), log);
      assertTrue(log.contains("msg=stopped abandoned_reviews=0"), log);
    } finally {
      gate.destroyForcibly();
    }
  }

  private static List<String> lines(Path file) {
    try {
      return Files.exists(file) ? Files.readAllLines(file, StandardCharsets.UTF_8) : List.of();
    } catch (java.io.IOException e) {
      return List.of();
    }
  }

  private static HttpRequest review(URI mutate) {
    return HttpRequest.newBuilder(mutate)
        .header("Content-Type", "application/json")
        .timeout(Duration.ofSeconds(30))
        .POST(HttpRequest.BodyPublishers.ofByteArray(GateFixture.sampleReview()))
        .build();
  }

  private static int number(String line, String key) {
    Matcher matcher = Pattern.compile("\\b" + key + "=(\\d+)").matcher(line);
    if (!matcher.find()) {
      throw new AssertionError("no " + key + " in: " + line);
    }
    return Integer.parseInt(matcher.group(1));
  }

  private static int status(HttpClient probes, int port, String path) {
    try {
      return probes
          .send(
              HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).build(),
              HttpResponse.BodyHandlers.ofString())
          .statusCode();
    } catch (Exception e) {
      return -1;
    }
  }

  private static double metric(HttpClient probes, int port, String series) {
    try {
      String body =
          probes
              .send(
                  HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/metrics"))
                      .build(),
                  HttpResponse.BodyHandlers.ofString())
              .body();
      return GateFixture.metricValue(body, series);
    } catch (Exception e) {
      return Double.NaN;
    }
  }
}
