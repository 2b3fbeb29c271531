package io.migrategate.gate.tls;

import java.util.concurrent.CompletionStage;

/**
 * Puts a serving certificate into service, e.g. {@code HttpServer.updateSSLOptions(..., true)}. A
 * certificate counts as served only once the returned stage completes normally; if it fails, the
 * previous certificate stays current and the change is retried later.
 */
@FunctionalInterface
public interface ServingCertificateInstaller {
  CompletionStage<?> install(ServingLeaf leaf);
}
