package io.migrategate.gate.server;

import io.migrategate.gate.tls.ServingCertificate;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.ClientAuth;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.net.JdkSSLEngineOptions;
import io.vertx.core.net.PemTrustOptions;
import io.vertx.core.net.ServerSSLOptions;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * The one place of the gate's TLS rules, for both HTTPS ports: TLS 1.2 and 1.3 only, an explicit
 * list of cipher suites (forward secrecy and AEAD only: no CBC, no SHA-1 MAC, no RSA key exchange),
 * a bounded handshake, and for the admission port optionally a client certificate from a given CA
 * (the API server's, {@code --admission-client-ca}). The same policy goes into the server options
 * at start and into every certificate hot swap, so a reload never loosens it.
 */
public final class TlsPolicy {
  /** TLS 1.0 and 1.1 are off: the Kubernetes API server speaks 1.2 and 1.3. */
  static final Set<String> PROTOCOLS = Set.of("TLSv1.2", "TLSv1.3");

  /**
   * TLS 1.3's AEAD suites, then TLS 1.2 with ECDHE and AES-GCM or ChaCha20-Poly1305, for ECDSA and
   * RSA certificates. Go's crypto/tls (the API server), the JDK (the waiter) and every current
   * client offer these; they are Go's own defaults minus CBC.
   */
  static final List<String> CIPHER_SUITES =
      List.of(
          "TLS_AES_128_GCM_SHA256",
          "TLS_AES_256_GCM_SHA384",
          "TLS_CHACHA20_POLY1305_SHA256",
          "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
          "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
          "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
          "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
          "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
          "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256");

  /** A connection that has not finished its handshake by then is closed. */
  static final long HANDSHAKE_TIMEOUT_SECONDS = 10;

  private final Buffer clientCaPem;

  private TlsPolicy(Buffer clientCaPem) {
    this.clientCaPem = clientCaPem;
  }

  /** Server authentication only: the wait API, and admission without a client CA. */
  public static TlsPolicy serverOnly() {
    return new TlsPolicy(null);
  }

  /** Mutual TLS: a client certificate signed by one of these CAs is required. */
  public static TlsPolicy requiringClientCertificate(String caPem) {
    return new TlsPolicy(Buffer.buffer(caPem));
  }

  public boolean requiresClientCertificate() {
    return clientCaPem != null;
  }

  /**
   * The HTTPS server options carrying {@code certificate} and this policy. The handshake's
   * expensive steps (key exchange, signature) run on Vert.x's internal worker threads, not on the
   * event loops: a flood of handshakes then cannot queue ahead of requests on connections already
   * open, such as the API server's keep-alive connections to the admission port.
   */
  public HttpServerOptions applyTo(HttpServerOptions options, ServingCertificate certificate) {
    options
        .setSsl(true)
        .setSslEngineOptions(new JdkSSLEngineOptions().setUseWorkerThread(true))
        .setKeyCertOptions(certificate.keyCertOptions())
        .setEnabledSecureTransportProtocols(PROTOCOLS)
        .setSslHandshakeTimeout(HANDSHAKE_TIMEOUT_SECONDS)
        .setSslHandshakeTimeoutUnit(TimeUnit.SECONDS);
    CIPHER_SUITES.forEach(options::addEnabledCipherSuite);
    if (clientCaPem != null) {
      options
          .setClientAuth(ClientAuth.REQUIRED)
          .setTrustOptions(new PemTrustOptions().addCertValue(clientCaPem));
    }
    return options;
  }

  /** The same, for a certificate hot swap on a running server. */
  public ServerSSLOptions sslOptions(ServingCertificate certificate) {
    ServerSSLOptions options =
        new ServerSSLOptions()
            .setKeyCertOptions(certificate.keyCertOptions())
            .setEnabledSecureTransportProtocols(PROTOCOLS)
            .setSslHandshakeTimeout(HANDSHAKE_TIMEOUT_SECONDS)
            .setSslHandshakeTimeoutUnit(TimeUnit.SECONDS);
    CIPHER_SUITES.forEach(options::addEnabledCipherSuite);
    if (clientCaPem != null) {
      options
          .setClientAuth(ClientAuth.REQUIRED)
          .setTrustOptions(new PemTrustOptions().addCertValue(clientCaPem));
    }
    return options;
  }
}
