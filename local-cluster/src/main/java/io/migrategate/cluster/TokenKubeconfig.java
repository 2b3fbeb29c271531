package io.migrategate.cluster;

import io.fabric8.kubernetes.client.Config;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Base64;

/**
 * A kubeconfig that authenticates with a bearer token (a ServiceAccount's, from the TokenRequest
 * API) and trusts the same CA as an admin client: how a test or the demo runs a process with a
 * ServiceAccount's rights instead of admin's.
 */
public final class TokenKubeconfig {
  private TokenKubeconfig() {}

  /**
   * Writes the kubeconfig, readable by its owner only (it holds a credential).
   *
   * @param admin the configuration whose CA is trusted
   * @param server the API server URL to put in it, e.g. {@code admin.getMasterUrl()} or a relay
   * @param user the user entry's name (shows in errors: the ServiceAccount's name is a good one)
   * @param token the bearer token
   * @param namespace the context's namespace, or null
   */
  public static Path write(
      Path file, Config admin, String server, String user, String token, String namespace) {
    String kubeconfig =
        String.join(
            "\n",
            "apiVersion: v1",
            "kind: Config",
            "clusters:",
            "- name: local",
            "  cluster:",
            "    server: " + server.replaceAll("/$", ""),
            "    certificate-authority-data: " + caData(admin),
            "users:",
            "- name: " + user,
            "  user:",
            "    token: " + token,
            "contexts:",
            "- name: " + user,
            "  context:",
            "    cluster: local",
            "    user: " + user,
            namespace == null ? "" : "    namespace: " + namespace,
            "current-context: " + user,
            "");
    try {
      Files.deleteIfExists(file);
      Files.createFile(
          file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
      Files.writeString(file, kubeconfig);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write kubeconfig " + file, e);
    }
    return file;
  }

  /**
   * The API server's CA of {@code config}, base64 PEM as kubeconfig's certificate-authority-data.
   */
  public static String caData(Config config) {
    if (config.getCaCertData() != null && !config.getCaCertData().isBlank()) {
      return config.getCaCertData();
    }
    try {
      return Base64.getEncoder()
          .encodeToString(Files.readAllBytes(Path.of(config.getCaCertFile())));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read the CA file " + config.getCaCertFile(), e);
    }
  }
}
