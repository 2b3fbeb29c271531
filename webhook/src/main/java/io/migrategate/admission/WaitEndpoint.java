package io.migrategate.admission;

import java.net.URI;
import java.util.Objects;

/**
 * The gate's wait API as injected waiters reach it (gate mode).
 *
 * @param url https URL of the gate's Service, e.g. {@code https://migrate-gate.migrate-gate.svc}
 * @param caPem PEM of the CA that signed the gate's serving certificate (injected as env)
 */
public record WaitEndpoint(String url, String caPem) {
  public WaitEndpoint {
    Objects.requireNonNull(url, "url");
    Objects.requireNonNull(caPem, "caPem");
    URI uri = URI.create(url);
    if (!"https".equals(uri.getScheme()) || uri.getHost() == null) {
      throw new IllegalArgumentException(
          "the wait API URL must be https with a host, got '" + url + "'");
    }
    if (!caPem.contains("-----BEGIN CERTIFICATE-----")) {
      throw new IllegalArgumentException("the wait API CA must be a PEM certificate");
    }
  }
}
