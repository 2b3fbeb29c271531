package io.migrategate.wait;

import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.Objects;
import java.util.Optional;

/**
 * Where the waiter asks the gate in gate mode, and with what it proves who it is.
 *
 * @param url the gate's base URL, https only, without trailing slash
 * @param caFile PEM file of the CA that signed the gate's serving certificate, if given
 * @param caPem the same as PEM text (the webhook injects it as env), if given and no file is
 * @param tokenFile the projected ServiceAccount token with the gate's audience; re-read on every
 *     connection because the kubelet rotates it
 */
public record GateEndpoint(URI url, Optional<Path> caFile, Optional<String> caPem, Path tokenFile) {

  /** Where the webhook mounts the waiter's projected token (audience migrate-gate). */
  public static final Path DEFAULT_TOKEN_FILE = Path.of("/var/run/secrets/migrate-gate/token");

  public GateEndpoint {
    Objects.requireNonNull(url, "url");
    Objects.requireNonNull(caFile, "caFile");
    Objects.requireNonNull(caPem, "caPem");
    Objects.requireNonNull(tokenFile, "tokenFile");
  }

  /**
   * Validates the URL text.
   *
   * @throws IllegalArgumentException naming the flag and the fix
   */
  static GateEndpoint of(
      String url, Optional<Path> caFile, Optional<String> caPem, Path tokenFile) {
    URI uri;
    try {
      uri = new URI(url.endsWith("/") ? url.substring(0, url.length() - 1) : url);
    } catch (URISyntaxException e) {
      throw new IllegalArgumentException(
          "invalid --gate-url \"" + url + "\" (or MIGRATE_GATE_URL): " + e.getReason());
    }
    if (!"https".equalsIgnoreCase(uri.getScheme()) || uri.getHost() == null) {
      throw new IllegalArgumentException(
          "invalid --gate-url \""
              + url
              + "\" (or MIGRATE_GATE_URL): give an https URL with a host, e.g."
              + " https://migrate-gate.migrate-gate.svc (the gate only speaks TLS)");
    }
    if (uri.getRawQuery() != null || uri.getRawFragment() != null) {
      throw new IllegalArgumentException(
          "invalid --gate-url \"" + url + "\" (or MIGRATE_GATE_URL): no query or fragment");
    }
    return new GateEndpoint(uri, caFile, caFile.isPresent() ? Optional.empty() : caPem, tokenFile);
  }
}
