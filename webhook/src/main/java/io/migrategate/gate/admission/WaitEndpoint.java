package io.migrategate.gate.admission;

import java.net.URI;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * The gate's wait API as injected waiters reach it (gate mode).
 *
 * @param url https URL of the gate's Service, e.g. {@code https://migrate-gate.migrate-gate.svc}
 * @param caPem PEM of the CA that signed the gate's serving certificate (injected as env)
 */
public record WaitEndpoint(String url, String caPem) {
  private static final Pattern IPV4 = Pattern.compile("[0-9]{1,3}(\\.[0-9]{1,3}){3}");

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

  /** The URL's host: a DNS name such as {@code migrate-gate.migrate-gate.svc}, or an address. */
  public String host() {
    return URI.create(url).getHost();
  }

  /**
   * Whether a waiter must resolve the host with DNS (a name, not an IPv4 or IPv6 address): then it
   * needs the cluster's DNS to reach the gate's Service.
   */
  public boolean hostIsName() {
    String host = host();
    return !host.startsWith("[") && !IPV4.matcher(host).matches();
  }
}
