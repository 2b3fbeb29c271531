package io.migrategate.certs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLHandshakeException;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Real TLS handshakes between the JDK's HTTPS server presenting our leaf and JDK clients that trust
 * only our CA, with hostname verification on: what the API server does when calling the webhook.
 */
class TlsHandshakeTest {
  private static final Duration TIMEOUT = Duration.ofSeconds(10);
  private static final CertificateAuthority CA =
      CertificateAuthority.generate("migrate-gate-ca", Duration.ofDays(30));

  private final List<HttpsServer> servers = new ArrayList<>();

  @AfterEach
  void stopServers() {
    servers.forEach(server -> server.stop(0));
  }

  @Test
  void httpClientTrustingOnlyTheCaReachesTheServerByIpAndName() throws Exception {
    List<String> names = new ArrayList<>(ServingNames.forService("svc", "ns"));
    names.add("localhost");
    int port = serve(CA.issueServing(names, List.of("127.0.0.1"), Duration.ofDays(1)));

    HttpClient client = client(CA);
    assertEquals("hello over tls", get(client, "https://127.0.0.1:" + port + "/"));
    assertEquals("hello over tls", get(client, "https://localhost:" + port + "/"));
  }

  @Test
  void httpClientRejectsAnAddressNotInTheSubjectAltNames() throws Exception {
    int port =
        serve(CA.issueServing(ServingNames.forService("svc", "ns"), List.of(), Duration.ofDays(1)));

    SSLHandshakeException e =
        assertThrows(
            SSLHandshakeException.class, () -> get(client(CA), "https://127.0.0.1:" + port + "/"));
    assertTrue(String.valueOf(e.getMessage()).contains("127.0.0.1"), e.getMessage());
  }

  @Test
  void httpClientTrustingAnotherCaIsRejected() throws Exception {
    int port =
        serve(CA.issueServing(List.of("localhost"), List.of("127.0.0.1"), Duration.ofDays(1)));
    CertificateAuthority other =
        CertificateAuthority.generate("migrate-gate-ca", Duration.ofDays(1));

    assertThrows(
        SSLHandshakeException.class, () -> get(client(other), "https://127.0.0.1:" + port + "/"));
  }

  @ParameterizedTest
  @ValueSource(strings = {"svc", "svc.ns", "svc.ns.svc", "svc.ns.svc.cluster.local", "10.96.0.10"})
  void everyServingNameAndIpVerifies(String host) throws Exception {
    int port =
        serve(
            CA.issueServing(
                ServingNames.forService("svc", "ns"), List.of("10.96.0.10"), Duration.ofDays(1)));

    assertEquals("CN=svc", handshake(host, port, CA));
  }

  @ParameterizedTest
  @ValueSource(
      strings = {"other", "other.ns.svc", "svc.other.svc", "evil.svc.ns.svc", "10.96.0.11"})
  void namesOutsideTheSubjectAltNamesFail(String host) throws Exception {
    int port =
        serve(
            CA.issueServing(
                ServingNames.forService("svc", "ns"), List.of("10.96.0.10"), Duration.ofDays(1)));

    SSLHandshakeException e =
        assertThrows(SSLHandshakeException.class, () -> handshake(host, port, CA));
    assertTrue(String.valueOf(e.getMessage()).contains(host), e.getMessage());
  }

  @Test
  void reloadedCaIssuesCertificatesClientsOfTheOriginalCaTrust() throws Exception {
    CertificateAuthority reloaded =
        CertificateAuthority.fromPem(CA.certificatePem(), CA.privateKeyPem());
    int port = serve(reloaded.issueServing(List.of("svc.ns.svc"), List.of(), Duration.ofDays(1)));

    assertEquals("CN=svc.ns.svc", handshake("svc.ns.svc", port, CA));
  }

  private int serve(IssuedCertificate serving) throws Exception {
    HttpsServer server =
        HttpsServer.create(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), 0), 0);
    server.setHttpsConfigurator(new HttpsConfigurator(JdkTls.serverContext(serving)));
    server.createContext(
        "/",
        exchange -> {
          byte[] body = "hello over tls".getBytes(StandardCharsets.UTF_8);
          exchange.sendResponseHeaders(200, body.length);
          exchange.getResponseBody().write(body);
          exchange.close();
        });
    server.start();
    servers.add(server);
    return server.getAddress().getPort();
  }

  private static HttpClient client(CertificateAuthority trusted) throws Exception {
    return HttpClient.newBuilder()
        .sslContext(JdkTls.clientTrusting(trusted.certificate()))
        .connectTimeout(TIMEOUT)
        .build();
  }

  private static String get(HttpClient client, String uri)
      throws IOException, InterruptedException {
    HttpRequest request = HttpRequest.newBuilder(URI.create(uri)).timeout(TIMEOUT).build();
    return client.send(request, HttpResponse.BodyHandlers.ofString()).body();
  }

  /**
   * Connects to 127.0.0.1 but verifies the server as {@code host}, the way a client reaching {@code
   * svc.ns.svc} through cluster DNS would; returns the verified peer's subject.
   */
  private static String handshake(String host, int port, CertificateAuthority trusted)
      throws Exception {
    SSLContext context = JdkTls.clientTrusting(trusted.certificate());
    try (Socket plain = new Socket()) {
      plain.connect(new InetSocketAddress("127.0.0.1", port), (int) TIMEOUT.toMillis());
      plain.setSoTimeout((int) TIMEOUT.toMillis());
      try (SSLSocket tls =
          (SSLSocket) context.getSocketFactory().createSocket(plain, host, port, false)) {
        SSLParameters parameters = tls.getSSLParameters();
        parameters.setEndpointIdentificationAlgorithm("HTTPS");
        if (!DnsNames.isIpAddress(host)) {
          parameters.setServerNames(List.of(new SNIHostName(host)));
        }
        tls.setSSLParameters(parameters);
        tls.startHandshake();
        return ((java.security.cert.X509Certificate) tls.getSession().getPeerCertificates()[0])
            .getSubjectX500Principal()
            .getName();
      }
    }
  }
}
