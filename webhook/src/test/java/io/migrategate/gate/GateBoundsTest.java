package io.migrategate.gate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.migrategate.gate.server.ConnectionLimiter;
import java.io.IOException;
import java.net.InetAddress;
import java.net.SocketTimeoutException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.Test;

/**
 * The bounds of the HTTPS side (docs/configuration.md, "Bounds"): connections per port and per
 * client address, and the queue of blocking reviews; each beyond its bound is refused at once and
 * counted.
 */
class GateBoundsTest {

  @Test
  void oneAddressGetsOnlyItsShareOfConnections() throws Exception {
    try (GateFixture fixture =
        new GateFixture(
            new StubReviewer(), "--max-connections", "5", "--max-connections-per-client", "2")) {
      List<SSLSocket> open = new ArrayList<>();
      try {
        int port = fixture.gate.port();
        for (int i = 0; i < 2; i++) {
          open.add(connect(fixture.pki.clientContext(), "127.0.0.2", port));
          assertTrue(keptOpen(open.get(i)), "connection " + i);
        }
        SSLSocket third = connect(fixture.pki.clientContext(), "127.0.0.2", port);
        open.add(third);
        assertFalse(keptOpen(third), "a third connection from one address is closed");
        // The API server's address still gets in.
        assertEquals(
            200, fixture.post(GateFixture.sampleReview(), "application/json").statusCode());
        assertEquals(
            1.0,
            fixture.metric(
                "migrate_gate_connections_rejected_total{port=\"admission\",reason=\"per_client\"}"));
      } finally {
        for (SSLSocket socket : open) {
          socket.close();
        }
      }
    }
  }

  @Test
  void aFullPortMakesRoomByClosingTheConnectionIdleLongest() throws Exception {
    try (GateFixture fixture =
        new GateFixture(
            new StubReviewer(), "--max-connections", "4", "--max-connections-per-client", "2")) {
      List<SSLSocket> open = new ArrayList<>();
      try {
        int port = fixture.gate.port();
        // Four idle connections from two addresses: the port is full.
        for (String from : List.of("127.0.0.2", "127.0.0.2", "127.0.0.3", "127.0.0.3")) {
          open.add(connect(fixture.pki.clientContext(), from, port));
          Thread.sleep(20);
        }
        for (SSLSocket socket : open) {
          assertTrue(keptOpen(socket));
        }
        // A new caller (the API server) is served; the oldest idle connection made room.
        assertEquals(
            200, fixture.post(GateFixture.sampleReview(), "application/json").statusCode());
        assertFalse(keptOpen(open.get(0)), "the connection idle longest was closed");
        for (SSLSocket socket : open.subList(1, 4)) {
          assertTrue(keptOpen(socket));
        }
        assertEquals(
            1.0, fixture.metric("migrate_gate_connections_evicted_total{port=\"admission\"}"));
        assertEquals(4.0, fixture.metric("migrate_gate_connections{port=\"admission\"}"));
        // The wait port has a bound of its own: it was not touched.
        SSLSocket wait = connect(fixture.pki.clientContext(), "127.0.0.2", fixture.gate.waitPort());
        open.add(wait);
        assertTrue(keptOpen(wait));
      } finally {
        for (SSLSocket socket : open) {
          socket.close();
        }
      }
    }
  }

  @Test
  void whenEveryConnectionIsBusyANewOneIsClosedAndRequestsSentByteByByteAreCut() throws Exception {
    try (GateFixture fixture =
        new GateFixture(
            new StubReviewer(), "--max-connections", "3", "--max-connections-per-client", "3")) {
      List<SSLSocket> open = new ArrayList<>();
      try {
        int port = fixture.gate.port();
        for (int i = 0; i < 3; i++) {
          SSLSocket slow = connect(fixture.pki.clientContext(), "127.0.0.2", port);
          open.add(slow);
          // Headers and half a body: the request stays in progress.
          slow.getOutputStream()
              .write(
                  ("POST /mutate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json"
                          + "\r\nContent-Length: 1000\r\n\r\n{\"kind\":")
                      .getBytes(StandardCharsets.US_ASCII));
          slow.getOutputStream().flush();
        }
        Thread.sleep(300);
        SSLSocket fourth = connect(fixture.pki.clientContext(), "127.0.0.3", port);
        open.add(fourth);
        assertFalse(keptOpen(fourth), "no idle connection to close: the new one is refused");
        assertEquals(
            1.0,
            fixture.metric(
                "migrate_gate_connections_rejected_total{port=\"admission\",reason=\"max\"}"));
        // The incomplete requests are cut at their deadline, and the port is free again.
        GateFixture.await(
            "requests that never finish arriving are cut",
            Duration.ofMillis(ConnectionLimiter.REQUEST_DEADLINE_MILLIS + 10_000),
            () -> metric(fixture, "migrate_gate_slow_requests_total{port=\"admission\"}") == 3.0);
        GateFixture.await(
            "their connections are released",
            Duration.ofSeconds(10),
            () -> metric(fixture, "migrate_gate_connections{port=\"admission\"}") == 0.0);
        assertEquals(
            200, fixture.post(GateFixture.sampleReview(), "application/json").statusCode());
      } finally {
        for (SSLSocket socket : open) {
          socket.close();
        }
      }
    }
  }

  @Test
  void reviewsBeyondTheWorkersAndTheirQueueAre503AtOnce() throws Exception {
    int workers = Gate.REVIEW_WORKERS + Gate.REVIEW_QUEUE;
    int requests = workers + 20;
    try (GateFixture fixture = new GateFixture(new StubReviewer(Duration.ofSeconds(2)))) {
      HttpClient client =
          HttpClient.newBuilder()
              .version(HttpClient.Version.HTTP_1_1)
              .sslContext(fixture.pki.clientContext())
              .build();
      List<CompletableFuture<HttpResponse<String>>> answers = new ArrayList<>();
      long started = System.nanoTime();
      for (int i = 0; i < requests; i++) {
        answers.add(
            client.sendAsync(
                HttpRequest.newBuilder(fixture.mutateUri())
                    .timeout(Duration.ofSeconds(60))
                    .header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofByteArray(GateFixture.sampleReview()))
                    .build(),
                HttpResponse.BodyHandlers.ofString()));
      }
      int ok = 0;
      int busy = 0;
      long slowestBusyMillis = 0;
      for (CompletableFuture<HttpResponse<String>> answer : answers) {
        HttpResponse<String> response = answer.get(60, TimeUnit.SECONDS);
        if (response.statusCode() == 503) {
          busy++;
          assertTrue(response.body().contains("migrate-gate is busy"), response.body());
        } else {
          assertEquals(200, response.statusCode(), response.body());
          ok++;
        }
      }
      assertTrue(busy >= 1, "some reviews found the pool full: busy=" + busy + " ok=" + ok);
      assertTrue(ok >= workers - 5, "the pool and its queue were used: ok=" + ok);
      assertEquals(
          busy, (int) fixture.metric("migrate_gate_worker_rejections_total{pool=\"review\"}"));
      assertEquals(
          (double) workers, fixture.metric("migrate_gate_worker_tasks_max{pool=\"review\"}"));
      assertTrue(System.nanoTime() - started < TimeUnit.SECONDS.toNanos(60));
    }
  }

  private static double metric(GateFixture fixture, String series) {
    try {
      return fixture.metric(series);
    } catch (Exception e) {
      return Double.NaN;
    }
  }

  /** A TLS connection from the local address {@code from}, handshake done. */
  static SSLSocket connect(SSLContext context, String from, int port) throws IOException {
    SSLSocket socket =
        (SSLSocket)
            context
                .getSocketFactory()
                .createSocket(
                    InetAddress.getByName("127.0.0.1"), port, InetAddress.getByName(from), 0);
    socket.setSoTimeout(10_000);
    socket.startHandshake();
    return socket;
  }

  /** Whether the server keeps the connection (no close within a second). */
  static boolean keptOpen(SSLSocket socket) throws IOException {
    socket.setSoTimeout(1000);
    try {
      return socket.getInputStream().read() != -1;
    } catch (SocketTimeoutException e) {
      return true;
    } catch (IOException e) {
      return false;
    }
  }
}
