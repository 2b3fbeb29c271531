package io.migrategate.gate.tls;

import io.migrategate.gate.Gate;
import io.migrategate.gate.observability.GateMetrics;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Optional;
import java.util.function.Function;

/**
 * {@code --tls-mode=self-managed}: serving certificates minted in memory from the gate's own CA
 * (kept in a Secret, trusted through the caBundle the gate keeps in sync), see {@link
 * SelfManagedTls}. This class only adapts it to the server.
 */
public final class SelfManagedCertificates implements CertificateSource {
  /** The CA lives in the API: the first certificate needs it (and the RBAC to read it). */
  static final Duration FIRST_CERTIFICATE_TIMEOUT = Duration.ofSeconds(60);

  private final Vertx vertx;
  private final SelfManagedTls tls;
  private final GateMetrics metrics;
  private volatile ServingCertificate current;

  public SelfManagedCertificates(Vertx vertx, SelfManagedTls tls, GateMetrics metrics) {
    this.vertx = vertx;
    this.tls = tls;
    this.metrics = metrics;
  }

  @Override
  public ServingCertificate loadInitial() throws Gate.StartException {
    try {
      current = toServing(tls.awaitServingCertificate(FIRST_CERTIFICATE_TIMEOUT));
    } catch (TlsUnavailableException e) {
      throw new Gate.StartException("self-managed TLS: " + e.getMessage(), e);
    }
    metrics.certificateNotAfter(current.notAfter().getEpochSecond());
    return current;
  }

  @Override
  public ServingCertificate current() {
    return current;
  }

  @Override
  public void start(Function<ServingCertificate, Future<?>> install) {
    tls.subscribe(
        leaf -> {
          ServingCertificate next = toServing(leaf);
          if (next.contentHash().equals(current.contentHash())) {
            return Future.succeededFuture().toCompletionStage();
          }
          return install
              .apply(next)
              .onSuccess(
                  ignored -> {
                    current = next;
                    metrics.certificateNotAfter(next.notAfter().getEpochSecond());
                  })
              .toCompletionStage();
        });
  }

  private ServingCertificate toServing(ServingLeaf leaf) {
    try {
      return ServingCertificate.parse(
          vertx,
          leaf.certificatePem().getBytes(StandardCharsets.US_ASCII),
          leaf.privateKeyPem().getBytes(StandardCharsets.US_ASCII),
          "the self-managed serving certificate " + leaf.serialHex());
    } catch (ServingCertificate.InvalidCertificateException e) {
      // The leaf was just minted by our own CA code: failing here is a bug, not bad input.
      throw new IllegalStateException(e.getMessage(), e);
    }
  }

  @Override
  public boolean ready() {
    return tls.status().ready();
  }

  @Override
  public String readyzLines() {
    return tls.status().readyzLines();
  }

  @Override
  public String metrics() {
    StringBuilder out = new StringBuilder(1024);
    tls.status().appendPrometheus(out);
    return out.toString();
  }

  @Override
  public Optional<String> clientTrustPem() {
    return tls.trustedCaPem();
  }

  @Override
  public void close() {
    tls.close();
  }
}
