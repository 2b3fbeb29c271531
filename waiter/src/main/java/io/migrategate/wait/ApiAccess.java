package io.migrategate.wait;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Supplier;
import javax.net.ssl.KeyManager;
import javax.net.ssl.SSLContext;
import org.snakeyaml.engine.v2.api.Load;
import org.snakeyaml.engine.v2.api.LoadSettings;

/**
 * How to reach the API server and who to be there: the in-cluster ServiceAccount, or a kubeconfig
 * file (token or client certificate). TLS is always verified.
 *
 * <p>Kept to what a waiter needs, read with a plain YAML parser: this is on the start-up path of
 * every gated pod (see docs/benchmarks/waiter.md).
 *
 * @param server API server base URI, e.g. {@code https://10.96.0.1:443}
 * @param sslContext trusts the cluster CA (and holds the client certificate, if any)
 * @param bearerToken the current bearer token, or null without one; re-read from its file on each
 *     call because projected ServiceAccount tokens rotate
 * @param identity who we are, as far as the credentials say ({@code system:serviceaccount:ns:sa}, a
 *     certificate CN), or null
 */
record ApiAccess(URI server, SSLContext sslContext, Supplier<String> bearerToken, String identity) {

  static final Path SERVICE_ACCOUNT_DIR = Path.of("/var/run/secrets/kubernetes.io/serviceaccount");

  /** The kubeconfig if given, else the first file of {@code KUBECONFIG}, else in-cluster. */
  static ApiAccess resolve(Optional<Path> kubeconfig, Map<String, String> env) {
    return resolve(kubeconfig, env, SERVICE_ACCOUNT_DIR);
  }

  /** {@link #resolve(Optional, Map)} with the in-cluster files in {@code serviceAccountDir}. */
  static ApiAccess resolve(
      Optional<Path> kubeconfig, Map<String, String> env, Path serviceAccountDir) {
    if (kubeconfig.isPresent()) {
      return fromKubeconfig(kubeconfig.get());
    }
    String list = env.get("KUBECONFIG");
    if (list != null && !list.isBlank()) {
      for (String file : list.split(java.io.File.pathSeparator)) {
        if (!file.isBlank() && Files.isReadable(Path.of(file.trim()))) {
          return fromKubeconfig(Path.of(file.trim()));
        }
      }
    }
    return inCluster(env, serviceAccountDir);
  }

  /** The pod's ServiceAccount: token and CA from {@code dir}, address from the environment. */
  static ApiAccess inCluster(Map<String, String> env, Path dir) {
    String host = env.get("KUBERNETES_SERVICE_HOST");
    String port = env.get("KUBERNETES_SERVICE_PORT");
    Path token = dir.resolve("token");
    if (host == null || port == null || !Files.isReadable(token)) {
      throw new AccessException(
          "no kubeconfig given (--kubeconfig, MIGRATE_GATE_KUBECONFIG or KUBECONFIG) and not in a pod"
              + " with a ServiceAccount token ("
              + token
              + " and KUBERNETES_SERVICE_HOST/PORT); give a kubeconfig, or mount a token");
    }
    String authority = host.contains(":") ? "[" + host + "]:" + port : host + ":" + port;
    Supplier<String> tokenFile = () -> readToken(token);
    return new ApiAccess(
        URI.create("https://" + authority),
        ssl(readCertificates(dir.resolve("ca.crt")), null),
        tokenFile,
        tokenSubject(tokenFile.get()));
  }

  /** The current context of a kubeconfig file. */
  @SuppressWarnings("unchecked")
  static ApiAccess fromKubeconfig(Path file) {
    Map<String, Object> root;
    try {
      Object loaded =
          new Load(LoadSettings.builder().build())
              .loadFromString(Files.readString(file, StandardCharsets.UTF_8));
      if (!(loaded instanceof Map)) {
        throw new AccessException("kubeconfig " + file + " is not a YAML mapping");
      }
      root = (Map<String, Object>) loaded;
    } catch (IOException e) {
      throw new AccessException("cannot read kubeconfig " + file + ": " + e.getMessage());
    } catch (RuntimeException e) {
      if (e instanceof AccessException access) {
        throw access;
      }
      throw new AccessException("kubeconfig " + file + " is not valid YAML: " + e.getMessage());
    }
    Kubeconfig config = new Kubeconfig(file, root);
    String contextName = config.string(root, "current-context");
    if (contextName == null) {
      throw config.error("has no current-context; set one with kubectl config use-context");
    }
    Map<String, Object> context = config.named("contexts", contextName, "context");
    Map<String, Object> cluster =
        config.named("clusters", config.string(context, "cluster"), "cluster");
    Map<String, Object> user =
        config.string(context, "user") == null
            ? Map.of()
            : config.named("users", config.string(context, "user"), "user");

    String server = config.string(cluster, "server");
    if (server == null || !server.startsWith("https://")) {
      throw config.error(
          "cluster "
              + config.string(context, "cluster")
              + " needs an https:// server (the waiter only talks TLS), found "
              + server);
    }
    if (Boolean.parseBoolean(String.valueOf(cluster.get("insecure-skip-tls-verify")))) {
      throw config.error(
          "cluster "
              + config.string(context, "cluster")
              + " sets insecure-skip-tls-verify, which the waiter refuses; give certificate-authority(-data)");
    }
    for (String unsupported : List.of("exec", "auth-provider", "username")) {
      if (user.containsKey(unsupported)) {
        throw config.error(
            "user "
                + config.string(context, "user")
                + " uses "
                + unsupported
                + " credentials, which the waiter does not support; use a token or a client certificate");
      }
    }
    byte[] ca = config.dataOrFile(cluster, "certificate-authority");
    List<X509Certificate> trusted = ca == null ? null : parseCertificates(ca, file.toString());

    KeyManager[] keys = null;
    String identity = null;
    byte[] clientCert = config.dataOrFile(user, "client-certificate");
    byte[] clientKey = config.dataOrFile(user, "client-key");
    if (clientCert != null && clientKey != null) {
      keys = keyManagers(clientCert, clientKey, file);
      identity =
          parseCertificates(clientCert, file.toString()).get(0).getSubjectX500Principal().getName();
    }
    Supplier<String> token;
    String tokenText = config.string(user, "token");
    String tokenFile = config.string(user, "tokenFile");
    if (tokenText != null) {
      token = () -> tokenText;
    } else if (tokenFile != null) {
      Path path = config.relative(tokenFile);
      token = () -> readToken(path);
    } else {
      token = () -> null;
    }
    if (identity == null) {
      identity = tokenSubject(token.get());
    }
    return new ApiAccess(URI.create(stripSlash(server)), ssl(trusted, keys), token, identity);
  }

  /** A kubeconfig being read, for lookups with errors that name the file and the entry. */
  private record Kubeconfig(Path file, Map<String, Object> root) {

    AccessException error(String problem) {
      return new AccessException("kubeconfig " + file + " " + problem);
    }

    String string(Map<String, Object> map, String key) {
      Object value = map.get(key);
      return value == null ? null : String.valueOf(value);
    }

    @SuppressWarnings("unchecked")
    Map<String, Object> named(String section, String name, String field) {
      Object list = root.get(section);
      if (name != null && list instanceof List<?> entries) {
        for (Object entry : entries) {
          if (entry instanceof Map<?, ?> map
              && name.equals(String.valueOf(map.get("name")))
              && map.get(field) instanceof Map<?, ?> value) {
            return (Map<String, Object>) value;
          }
        }
      }
      throw error("has no " + field + " named \"" + name + "\" under " + section);
    }

    Path relative(String path) {
      Path given = Path.of(path);
      Path dir = file.toAbsolutePath().getParent();
      return given.isAbsolute() || dir == null ? given : dir.resolve(given);
    }

    /** {@code key-data} (base64) or the file {@code key} names, or null. */
    byte[] dataOrFile(Map<String, Object> map, String key) {
      String data = string(map, key + "-data");
      if (data != null) {
        try {
          return Base64.getDecoder().decode(data.replaceAll("\\s", ""));
        } catch (IllegalArgumentException e) {
          throw error(key + "-data is not base64: " + e.getMessage());
        }
      }
      String path = string(map, key);
      if (path == null) {
        return null;
      }
      try {
        return Files.readAllBytes(relative(path));
      } catch (IOException e) {
        throw error(key + " " + path + " cannot be read: " + e.getMessage());
      }
    }
  }

  /** Configuration problems: exit 64 with this message. */
  static final class AccessException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    AccessException(String message) {
      super(message);
    }
  }

  private static SSLContext ssl(List<X509Certificate> trusted, KeyManager[] keys) {
    try {
      if (trusted != null) {
        return OwnTrust.context(trusted, keys);
      }
      SSLContext context = SSLContext.getInstance("TLS");
      context.init(keys, null, null); // the JDK's CAs: an API server with a public certificate
      return context;
    } catch (GeneralSecurityException | IOException e) {
      throw new AccessException("cannot set up TLS: " + e);
    }
  }

  private static KeyManager[] keyManagers(byte[] cert, byte[] key, Path file) {
    try {
      return ClientKey.keyManagers(cert, key);
    } catch (GeneralSecurityException | RuntimeException e) {
      throw new AccessException(
          "kubeconfig " + file + ": cannot load the client certificate and key: " + e.getMessage());
    }
  }

  private static List<X509Certificate> readCertificates(Path file) {
    try {
      return parseCertificates(Files.readAllBytes(file), file.toString());
    } catch (IOException e) {
      throw new AccessException("cannot read the cluster CA " + file + ": " + e.getMessage());
    }
  }

  private static List<X509Certificate> parseCertificates(byte[] pem, String origin) {
    try {
      List<X509Certificate> certificates = new java.util.ArrayList<>();
      for (Certificate certificate :
          CertificateFactory.getInstance("X.509")
              .generateCertificates(new ByteArrayInputStream(pem))) {
        certificates.add((X509Certificate) certificate);
      }
      if (certificates.isEmpty()) {
        throw new AccessException("no certificate in " + origin);
      }
      return certificates;
    } catch (GeneralSecurityException e) {
      throw new AccessException("cannot parse certificates of " + origin + ": " + e.getMessage());
    }
  }

  private static String readToken(Path file) {
    try {
      return Files.readString(file, StandardCharsets.UTF_8).trim();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read the token " + file, e);
    }
  }

  /** The {@code sub} claim of a JWT (ServiceAccount tokens are JWTs), or null. */
  static String tokenSubject(String token) {
    if (token == null) {
      return null;
    }
    String[] parts = token.split("\\.");
    if (parts.length != 3) {
      return null;
    }
    try {
      String payload = new String(Base64.getUrlDecoder().decode(parts[1]), StandardCharsets.UTF_8);
      java.util.regex.Matcher subject =
          java.util.regex.Pattern.compile("\"sub\"\\s*:\\s*\"([^\"]+)\"").matcher(payload);
      return subject.find() ? subject.group(1) : null;
    } catch (IllegalArgumentException e) {
      return null;
    }
  }

  private static String stripSlash(String server) {
    return server.endsWith("/") ? server.substring(0, server.length() - 1) : server;
  }
}
