package io.migrategate.gate.tls;

import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletionStage;

/**
 * What the HTTPS server needs from a source of serving certificates: the first one to start
 * listening with, every later one to hot-swap in, and the state for readiness and metrics.
 */
public interface ServingCertificates {

  /**
   * Waits for the first serving certificate.
   *
   * @throws TlsUnavailableException when none is available within {@code timeout}; the message says
   *     what is missing (e.g. RBAC to read or create the CA Secret)
   */
  ServingLeaf awaitServingCertificate(Duration timeout) throws TlsUnavailableException;

  /** The certificate in service, empty before the first one. */
  Optional<ServingLeaf> current();

  /**
   * Registers an installer. It receives the current certificate at once (if there is one) and then
   * every replacement, always from the same single thread. The stage completes once the current
   * certificate has been handed to it.
   */
  CompletionStage<Void> subscribe(ServingCertificateInstaller installer);

  /** The state for /readyz and /metrics, evaluated now. */
  TlsStatus status();
}
