package io.migrategate.gate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.migrategate.gate.server.TlsPolicy;
import io.migrategate.gate.waitapi.FakeJwt;
import java.io.IOException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The TLS policy of both HTTPS ports ({@link TlsPolicy}): only TLS 1.2/1.3 with AEAD suites, kept
 * across certificate reloads, and on the admission port, with {@code --admission-client-ca}, only
 * clients presenting a certificate of that CA.
 */
class GateTlsTest {
  static final List<String> CBC_SUITES =
      List.of(
          "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA",
          "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA",
          "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256");

  @TempDir Path dir;

  @Test
  void aClientOfferingOnlyCbcSuitesIsRefusedOnBothPorts() throws Exception {
    try (GateFixture fixture = new GateFixture(new StubReviewer())) {
      for (int port : List.of(fixture.gate.port(), fixture.gate.waitPort())) {
        for (String suite : CBC_SUITES) {
          assertThrows(
              SSLException.class,
              () -> handshake(fixture.pki.clientContext(), port, "TLSv1.2", suite),
              suite + " on port " + port);
        }
      }
    }
  }

  @Test
  void aClientOfferingOnlyAModernSuiteIsServedOnBothPorts() throws Exception {
    try (GateFixture fixture = new GateFixture(new StubReviewer())) {
      for (int port : List.of(fixture.gate.port(), fixture.gate.waitPort())) {
        assertEquals(
            "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
            handshake(
                fixture.pki.clientContext(),
                port,
                "TLSv1.2",
                "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"));
        assertEquals(
            "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
            handshake(
                fixture.pki.clientContext(),
                port,
                "TLSv1.2",
                "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"));
        assertEquals(
            "TLS_AES_256_GCM_SHA384",
            handshake(fixture.pki.clientContext(), port, "TLSv1.3", "TLS_AES_256_GCM_SHA384"));
      }
    }
  }

  @Test
  void tls11IsRefused() throws Exception {
    try (GateFixture fixture = new GateFixture(new StubReviewer())) {
      assertThrows(
          SSLException.class,
          () ->
              handshake(
                  fixture.pki.clientContext(),
                  fixture.gate.port(),
                  "TLSv1.1",
                  "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA"));
    }
  }

  @Test
  void theCipherListSurvivesACertificateReload() throws Exception {
    try (GateFixture fixture = new GateFixture(new StubReviewer())) {
      fixture.secret.publish(fixture.pki.issue(Duration.ofHours(2)));
      GateFixture.await(
          "the new certificate is served",
          Duration.ofSeconds(30),
          () -> {
            try {
              return fixture.metric("migrate_gate_tls_reloads_total{result=\"success\"}") >= 1;
            } catch (Exception e) {
              return false;
            }
          });
      for (int port : List.of(fixture.gate.port(), fixture.gate.waitPort())) {
        assertThrows(
            SSLException.class,
            () ->
                handshake(
                    fixture.pki.clientContext(),
                    port,
                    "TLSv1.2",
                    "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA"));
      }
    }
  }

  @Test
  void withAnAdmissionClientCaOnlyItsClientsReachMutateAndTheWaitPortStaysOpen() throws Exception {
    ClientCertificates apiServers = ClientCertificates.create("api-server-clients");
    ClientCertificates strangers = ClientCertificates.create("someone-else");
    Path ca = Files.writeString(dir.resolve("client-ca.pem"), apiServers.caPem());
    try (GateFixture fixture =
        new GateFixture(new StubReviewer(), "--admission-client-ca", ca.toString())) {
      String serverCa = fixture.pki.caCertificatePem();
      ClientCertificates.Client apiServer = apiServers.issue("kube-apiserver");

      assertEquals(200, mutate(fixture, ClientCertificates.context(serverCa, apiServer)));
      assertThrows(
          IOException.class, () -> mutate(fixture, ClientCertificates.context(serverCa, null)));
      assertThrows(
          IOException.class,
          () ->
              mutate(
                  fixture,
                  ClientCertificates.context(serverCa, strangers.issue("kube-apiserver"))));
      // The wait port asks for no client certificate: pods authenticate with their token.
      HttpResponse<String> wait =
          client(ClientCertificates.context(serverCa, null))
              .send(
                  HttpRequest.newBuilder(
                          fixture.waitUri("/wait/v1/namespaces/shop/jobs?names=migrate"))
                      .header("Authorization", "Bearer " + FakeJwt.podBound())
                      .build(),
                  HttpResponse.BodyHandlers.ofString());
      assertEquals(503, wait.statusCode(), "TLS done, the (unreachable) API decides");
      assertTrue(fixture.log().contains("admission_client_auth=true"), fixture.log());
      assertTrue(fixture.log().contains("admission_fast_path=true"), fixture.log());

      // A certificate reload keeps the client-certificate requirement.
      fixture.secret.publish(fixture.pki.issue(Duration.ofHours(2)));
      GateFixture.await(
          "the new certificate is served",
          Duration.ofSeconds(30),
          () -> {
            try {
              return fixture.metric("migrate_gate_tls_reloads_total{result=\"success\"}") >= 1;
            } catch (Exception e) {
              return false;
            }
          });
      assertThrows(
          IOException.class, () -> mutate(fixture, ClientCertificates.context(serverCa, null)));
      assertEquals(200, mutate(fixture, ClientCertificates.context(serverCa, apiServer)));
    }
  }

  /** The suite negotiated by a client offering only {@code suite} over {@code protocol}. */
  static String handshake(SSLContext context, int port, String protocol, String suite)
      throws IOException {
    try (SSLSocket socket =
        (SSLSocket) context.getSocketFactory().createSocket("localhost", port)) {
      socket.setSoTimeout(10_000);
      socket.setEnabledProtocols(new String[] {protocol});
      socket.setEnabledCipherSuites(new String[] {suite});
      socket.startHandshake();
      return socket.getSession().getCipherSuite();
    }
  }

  private static HttpClient client(SSLContext context) {
    return HttpClient.newBuilder()
        .version(HttpClient.Version.HTTP_1_1)
        .sslContext(context)
        .connectTimeout(Duration.ofSeconds(10))
        .build();
  }

  private static int mutate(GateFixture fixture, SSLContext context) throws Exception {
    return client(context)
        .send(
            HttpRequest.newBuilder(fixture.mutateUri())
                .timeout(Duration.ofSeconds(10))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofByteArray(GateFixture.sampleReview()))
                .build(),
            HttpResponse.BodyHandlers.ofString())
        .statusCode();
  }
}
