package io.migrategate.gate.tls;

import io.migrategate.gate.Gate;
import io.vertx.core.Future;
import java.util.Optional;
import java.util.function.Function;

/**
 * Where the HTTPS server's certificate comes from: PEM files that are watched ({@code
 * --tls-mode=files}, e.g. a cert-manager Secret volume) or the gate's own CA ({@code
 * --tls-mode=self-managed}). The server starts with {@link #loadInitial} and hot-swaps every later
 * certificate through the function given to {@link #start}.
 */
public interface CertificateSource extends AutoCloseable {

  /** The certificate to start listening with; the gate does not start without one. */
  ServingCertificate loadInitial() throws Gate.StartException;

  /** The certificate in service, null before {@link #loadInitial}. */
  ServingCertificate current();

  /**
   * Starts following changes. {@code install} puts a certificate in the running server; a source
   * counts it as served only when that future succeeds.
   */
  void start(Function<ServingCertificate, Future<?>> install);

  /** Readiness beyond "a certificate valid now" (self-managed: its issuer is in the caBundle). */
  default boolean ready() {
    return true;
  }

  /** Extra /readyz lines, each ending in a newline. */
  default String readyzLines() {
    return "";
  }

  /** Extra metrics in Prometheus text format. */
  default String metrics() {
    return "";
  }

  /**
   * PEM of the CAs that clients of the gate (gate-mode waiters) must trust, when the gate knows it.
   */
  default Optional<String> clientTrustPem() {
    return Optional.empty();
  }

  @Override
  void close();
}
