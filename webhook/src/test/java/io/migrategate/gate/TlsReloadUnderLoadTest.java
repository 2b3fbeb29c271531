package io.migrategate.gate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.InputStream;
import java.io.OutputStream;
import java.math.BigInteger;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.Test;

/**
 * Certificates replaced while clients keep sending reviews: new connections get the new
 * certificate, open keep-alive connections keep working, a half-written pair is never served, and
 * not one request fails.
 */
class TlsReloadUnderLoadTest {
  private static final byte[] REVIEW = GateFixture.sampleReview();
  private static final String UID = "5e3b8f2a-9c41-4c7e-8d2b-6a1f0e9d7c35";

  @Test
  void servesReplacedCertificatesWithoutOneFailedRequest() throws Exception {
    try (GateFixture fixture = new GateFixture(new StubReviewer())) {
      AtomicBoolean running = new AtomicBoolean(true);
      AtomicLong succeeded = new AtomicLong();
      List<String> failures = Collections.synchronizedList(new ArrayList<>());
      List<Thread> clients = new ArrayList<>();
      for (int i = 0; i < 2; i++) {
        clients.add(
            start(
                "keep-alive-" + i, running, () -> keepAliveRequest(fixture), succeeded, failures));
        clients.add(
            start(
                "new-connection-" + i,
                running,
                () -> newConnectionRequest(fixture),
                succeeded,
                failures));
      }
      BigInteger first = fixture.initialCertificate.serial();
      GateFixture.await("load running", Duration.ofSeconds(30), () -> succeeded.get() >= 100);
      assertEquals(first, servedSerial(fixture));

      // 1. Kubernetes-style atomic swap of the ..data symlink.
      TestPki.Issued second = fixture.pki.issue(Duration.ofHours(2));
      fixture.secret.publish(second);
      awaitServed(fixture, second.serial());

      // 2. A non-atomic writer: new certificate first, its key a moment later.
      TestPki.Issued third = fixture.pki.issue(Duration.ofHours(3));
      fixture.secret.overwriteInPlace("tls.crt", third.certificatePem());
      GateFixture.await(
          "the mismatched pair to be rejected",
          Duration.ofSeconds(30),
          () -> metric(fixture, "migrate_gate_tls_reloads_total{result=\"failure\"}") >= 1);
      assertEquals(
          second.serial(), servedSerial(fixture), "a half-written pair must not be served");
      fixture.secret.overwriteInPlace("tls.key", third.privateKeyPem());
      awaitServed(fixture, third.serial());

      long afterSwaps = succeeded.get();
      GateFixture.await(
          "more load after the swaps",
          Duration.ofSeconds(30),
          () -> succeeded.get() >= afterSwaps + 100);
      running.set(false);
      for (Thread client : clients) {
        client.join(30_000);
      }

      assertEquals(List.of(), failures);
      assertEquals(2.0, metric(fixture, "migrate_gate_tls_reloads_total{result=\"success\"}"));
      assertEquals(1.0, metric(fixture, "migrate_gate_tls_reloads_total{result=\"failure\"}"));
      long notAfter =
          (long) metric(fixture, "migrate_gate_serving_certificate_not_after_timestamp_seconds");
      assertEquals(
          TestPki.notAfterOf(third.certificatePem()).getEpochSecond(), notAfter, "not-after gauge");
      assertTrue(fixture.log().contains("msg=\"tls reloaded\""), fixture.log());
      assertTrue(fixture.log().contains("does not belong to the certificate"), fixture.log());
      System.out.printf("tls reload under load: %d requests, 0 failed%n", succeeded.get());
    }
  }

  private interface Request {
    void send() throws Exception;
  }

  private static Thread start(
      String name,
      AtomicBoolean running,
      Request request,
      AtomicLong succeeded,
      List<String> failures) {
    Thread thread =
        new Thread(
            () -> {
              while (running.get()) {
                try {
                  request.send();
                  succeeded.incrementAndGet();
                } catch (Exception | AssertionError e) {
                  failures.add(name + ": " + e);
                }
              }
            },
            name);
    thread.start();
    return thread;
  }

  private static void keepAliveRequest(GateFixture fixture) throws Exception {
    HttpResponse<String> response = fixture.post(REVIEW, "application/json");
    if (response.statusCode() != 200 || !response.body().contains(UID)) {
      throw new AssertionError("status " + response.statusCode() + ": " + response.body());
    }
  }

  /** A fresh TLS connection (fresh client context: no session resumption) per request. */
  private static void newConnectionRequest(GateFixture fixture) throws Exception {
    try (SSLSocket socket = connect(fixture)) {
      OutputStream out = socket.getOutputStream();
      out.write(
          ("POST /mutate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                  + "Connection: close\r\nContent-Length: "
                  + REVIEW.length
                  + "\r\n\r\n")
              .getBytes(StandardCharsets.US_ASCII));
      out.write(REVIEW);
      out.flush();
      InputStream in = socket.getInputStream();
      String response = new String(in.readAllBytes(), StandardCharsets.UTF_8);
      if (!response.startsWith("HTTP/1.1 200") || !response.contains(UID)) {
        throw new AssertionError("unexpected answer: " + response);
      }
    }
  }

  private static SSLSocket connect(GateFixture fixture) throws Exception {
    SSLSocket socket =
        (SSLSocket)
            fixture
                .pki
                .clientContext()
                .getSocketFactory()
                .createSocket("localhost", fixture.gate.port());
    socket.setSoTimeout(20_000);
    socket.startHandshake();
    return socket;
  }

  private static BigInteger servedSerial(GateFixture fixture) throws Exception {
    try (SSLSocket socket = connect(fixture)) {
      return ((X509Certificate) socket.getSession().getPeerCertificates()[0]).getSerialNumber();
    }
  }

  private static void awaitServed(GateFixture fixture, BigInteger serial) {
    GateFixture.await(
        "new connections to get certificate " + serial.toString(16),
        Duration.ofSeconds(30),
        () -> {
          try {
            return serial.equals(servedSerial(fixture));
          } catch (Exception e) {
            throw new AssertionError("handshake failed while waiting for the new certificate", e);
          }
        });
  }

  private static double metric(GateFixture fixture, String series) {
    try {
      return fixture.metric(series);
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }
}
