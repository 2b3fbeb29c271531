package io.migrategate.wait;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsParameters;
import com.sun.net.httpserver.HttpsServer;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;

/**
 * A dry run for the CDS archives (the image's, docs/images.md, and the one of {@code mvn package}):
 * runs the real waiter the two ways it runs in a pod, against stubs on loopback over TLS, so the
 * archive holds the classes of both. No cluster needed.
 *
 * <ul>
 *   <li>gate mode, as the gate injects it (environment only): a stub wait API streams one Job
 *       already succeeded and one that succeeds after a heartbeat;
 *   <li>direct mode in a pod: a ServiceAccount directory (token, ca.crt) and {@code
 *       KUBERNETES_SERVICE_HOST/PORT}; a stub API server answers the GETs and a watch.
 * </ul>
 *
 * The stubs' key pair comes from a PKCS#12 keystore made by keytool (password {@value
 * #KEYSTORE_PASSWORD}), its server certificate valid for {@code localhost}, the name both runs use,
 * so name resolution and the host name check are trained too. The classes of the stubs themselves
 * ({@code com.sun.net.httpserver}, this class) are left out of the image's archive.
 */
final class CdsTraining {
  static final String FLAG = "--cds-training";

  static final String KEYSTORE_PASSWORD = "cds-training";

  private static final String NAMESPACE = "training";

  /** A JWT-shaped token, so the identity parsing is part of the training. */
  private static final String TOKEN =
      "eyJhbGciOiJub25lIn0."
          + Base64.getUrlEncoder()
              .withoutPadding()
              .encodeToString(
                  "{\"sub\":\"system:serviceaccount:training:waiter\"}"
                      .getBytes(StandardCharsets.UTF_8))
          + ".c2ln";

  private CdsTraining() {}

  static int run() {
    HttpsServer server = null;
    Path dir = null;
    try {
      dir = Files.createTempDirectory("migrate-gate-cds");
      Path keystorePath = generateKeystore("dns:localhost,ip:127.0.0.1");
      KeyStore keystore = KeyStore.getInstance("PKCS12");
      try (var in = Files.newInputStream(keystorePath)) {
        keystore.load(in, KEYSTORE_PASSWORD.toCharArray());
      }
      deleteQuietly(keystorePath);
      // Only the server's key may serve: drop the CA's key entry after taking its certificate.
      java.security.cert.Certificate ca = keystore.getCertificate("ca");
      keystore.deleteEntry("ca");
      KeyManagerFactory keys =
          KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
      keys.init(keystore, KEYSTORE_PASSWORD.toCharArray());
      SSLContext tls = SSLContext.getInstance("TLS");
      tls.init(keys.getKeyManagers(), null, null);
      String caPem =
          "-----BEGIN CERTIFICATE-----\n"
              + Base64.getMimeEncoder().encodeToString(ca.getEncoded())
              + "\n-----END CERTIFICATE-----\n";

      server = HttpsServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
      server.setHttpsConfigurator(
          new HttpsConfigurator(tls) {
            @Override
            public void configure(HttpsParameters parameters) {
              // the API server asks for (but does not require) a client certificate
              SSLParameters ssl = tls.getDefaultSSLParameters();
              ssl.setWantClientAuth(true);
              parameters.setSSLParameters(ssl);
            }
          });
      server.createContext("/", CdsTraining::answer);
      server.start();
      int port = server.getAddress().getPort();

      Path token = dir.resolve("token");
      Files.writeString(token, TOKEN);
      Files.writeString(dir.resolve("ca.crt"), caPem);
      Path terminationLog = dir.resolve("termination-log");
      PrintStream quiet =
          new PrintStream(OutputStream.nullOutputStream(), true, StandardCharsets.UTF_8);

      Map<String, String> pod =
          Map.of(
              "MIGRATE_GATE_NAMESPACE",
              NAMESPACE,
              "MIGRATE_GATE_JOBS",
              "done,later",
              "MIGRATE_GATE_TIMEOUT",
              "30s",
              "MIGRATE_GATE_TERMINATION_LOG",
              terminationLog.toString());
      Map<String, String> gateMode = new java.util.HashMap<>(pod);
      gateMode.put("MIGRATE_GATE_URL", "https://localhost:" + port);
      gateMode.put("MIGRATE_GATE_CA", caPem);
      gateMode.put("MIGRATE_GATE_TOKEN_FILE", token.toString());
      Map<String, String> directMode = new java.util.HashMap<>(pod);
      directMode.put("KUBERNETES_SERVICE_HOST", "localhost");
      directMode.put("KUBERNETES_SERVICE_PORT", String.valueOf(port));

      for (Map<String, String> env : List.of(gateMode, directMode)) {
        int code = WaiterMain.run(List.of(), env, quiet, System.err, dir);
        if (code != 0) {
          System.err.println(
              "cds training: the waiter exited "
                  + code
                  + " against the stub ("
                  + (env.containsKey("MIGRATE_GATE_URL") ? "gate" : "direct")
                  + " mode)");
          return code;
        }
      }
      return 0;
    } catch (IOException | GeneralSecurityException e) {
      System.err.println("cds training failed: " + e);
      return ExitCode.INTERNAL_ERROR.code();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return ExitCode.INTERNAL_ERROR.code();
    } finally {
      if (server != null) {
        server.stop(0);
      }
      deleteTree(dir);
    }
  }

  /**
   * A PKCS#12 keystore with a CA and a server certificate issued by it, like the API server's or
   * the gate's (a self-signed one would skip certificate path validation).
   *
   * @param names the server certificate's subject alternative names, keytool syntax ({@code
   *     dns:localhost,ip:127.0.0.1})
   */
  static Path generateKeystore(String names) throws IOException, InterruptedException {
    Path dir = Files.createTempDirectory("migrate-gate-cds");
    dir.toFile().deleteOnExit();
    Path keystore = dir.resolve("stub.p12");
    Path request = dir.resolve("server.csr");
    Path serverCert = dir.resolve("server.crt");
    Path caCert = dir.resolve("ca.crt");
    try {
      keytool(
          keystore,
          "-genkeypair",
          "-alias",
          "ca",
          "-keyalg",
          "EC",
          "-dname",
          "CN=training-ca",
          "-ext",
          "bc:c");
      keytool(keystore, "-exportcert", "-rfc", "-alias", "ca", "-file", caCert.toString());
      keytool(
          keystore, "-genkeypair", "-alias", "server", "-keyalg", "EC", "-dname", "CN=stub-server");
      keytool(keystore, "-certreq", "-alias", "server", "-file", request.toString());
      keytool(
          keystore,
          "-gencert",
          "-alias",
          "ca",
          "-infile",
          request.toString(),
          "-outfile",
          serverCert.toString(),
          "-rfc",
          "-ext",
          "SAN=" + names,
          "-ext",
          "EKU=serverAuth");
      keytool(
          keystore, "-importcert", "-noprompt", "-alias", "server", "-file", serverCert.toString());
    } finally {
      deleteQuietly(request);
      deleteQuietly(serverCert);
      deleteQuietly(caCert);
    }
    return keystore;
  }

  private static void keytool(Path keystore, String... args)
      throws IOException, InterruptedException {
    List<String> command = new java.util.ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "keytool").toString());
    command.addAll(List.of(args));
    command.addAll(
        List.of(
            "-keystore",
            keystore.toString(),
            "-storetype",
            "PKCS12",
            "-storepass",
            KEYSTORE_PASSWORD,
            "-validity",
            "2"));
    if (command.contains("-exportcert")
        || command.contains("-certreq")
        || command.contains("-importcert")) {
      command.remove("-validity");
      command.remove("2");
    }
    Process keytool =
        new ProcessBuilder(command)
            .redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.DISCARD)
            .start();
    if (keytool.waitFor() != 0) {
      throw new IOException("keytool " + args[0] + " exited " + keytool.exitValue());
    }
  }

  private static void deleteQuietly(Path file) {
    if (file == null) {
      return;
    }
    try {
      Files.deleteIfExists(file);
    } catch (IOException ignored) {
      // a temp file left behind is harmless
    }
  }

  private static void answer(HttpExchange exchange) throws IOException {
    String path = exchange.getRequestURI().getPath();
    String query = String.valueOf(exchange.getRequestURI().getQuery());
    String base = "/apis/batch/v1/namespaces/" + NAMESPACE + "/jobs";
    if (path.equals("/wait/v1/namespaces/" + NAMESPACE + "/jobs")) {
      exchange.getResponseHeaders().add("Content-Type", "application/x-ndjson");
      sendChunked(
          exchange,
          String.join(
              "\n",
              waitLine("done", "1", "SUCCEEDED", "succeeded: CompletionsReached"),
              waitLine("later", "2", "RUNNING", "running (1 active)"),
              "{\"type\":\"heartbeat\"}",
              waitLine("later", "2", "SUCCEEDED", "succeeded: CompletionsReached"),
              "{\"type\":\"verdict\",\"outcome\":\"SUCCEEDED\",\"line\":\"jobs done,later"
                  + " succeeded\"}",
              ""));
      return;
    }
    exchange.getResponseHeaders().add("Content-Type", "application/json");
    if (path.equals(base + "/done")) {
      send(exchange, 200, job("done", "1", true));
    } else if (path.equals(base + "/later")) {
      send(exchange, 200, job("later", "2", false));
    } else if (path.equals(base) && query.contains("watch=true") && query.contains("later")) {
      sendChunked(exchange, "{\"type\":\"MODIFIED\",\"object\":" + job("later", "3", true) + "}\n");
    } else if (path.equals(base) && query.contains("watch=true")) {
      // the complete Job's watch: nothing more to say; keep it short-lived
      send(exchange, 200, "");
    } else {
      send(
          exchange,
          404,
          "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":\"Failure\",\"code\":404}");
    }
  }

  /** One {@code job} line of the wait API (docs/gate-wait-api.md). */
  private static String waitLine(String job, String uid, String phase, String line) {
    return "{\"type\":\"job\",\"job\":\""
        + job
        + "\",\"found\":true,\"source\":\"live\",\"uid\":\"00000000-0000-0000-0000-00000000000"
        + uid
        + "\",\"phase\":\""
        + phase
        + "\""
        + (phase.equals("SUCCEEDED") ? ",\"reason\":\"CompletionsReached\"" : "")
        + ",\"line\":\""
        + line
        + "\"}";
  }

  /** Like a watch: chunked transfer encoding, the body streamed. */
  private static void sendChunked(HttpExchange exchange, String body) throws IOException {
    exchange.sendResponseHeaders(200, 0);
    try (OutputStream out = exchange.getResponseBody()) {
      out.write(body.getBytes(StandardCharsets.UTF_8));
      out.flush();
    }
  }

  private static void send(HttpExchange exchange, int status, String body) throws IOException {
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    exchange.sendResponseHeaders(status, bytes.length == 0 ? -1 : bytes.length);
    try (OutputStream out = exchange.getResponseBody()) {
      out.write(bytes);
    }
  }

  private static String job(String name, String resourceVersion, boolean complete) {
    String conditions =
        complete
            ? ",\"succeeded\":1,\"conditions\":[{\"type\":\"SuccessCriteriaMet\",\"status\":\"True\","
                + "\"reason\":\"CompletionsReached\"},{\"type\":\"Complete\",\"status\":\"True\","
                + "\"reason\":\"CompletionsReached\",\"message\":\"Reached expected number of succeeded pods\","
                + "\"lastTransitionTime\":\"2025-01-01T00:00:00Z\"}]"
            : ",\"active\":1";
    return "{\"apiVersion\":\"batch/v1\",\"kind\":\"Job\",\"metadata\":{\"name\":\""
        + name
        + "\",\"namespace\":\""
        + NAMESPACE
        + "\",\"uid\":\"00000000-0000-0000-0000-00000000000"
        + resourceVersion
        + "\",\"resourceVersion\":\""
        + resourceVersion
        + "\",\"annotations\":{\"migrate.io/revision\":\"1\"}},"
        + "\"spec\":{\"backoffLimit\":6,\"completions\":1,\"template\":{\"spec\":{\"restartPolicy\":\"Never\","
        + "\"containers\":[{\"name\":\"migrate\",\"image\":\"migrate\"}]}}},"
        + "\"status\":{\"startTime\":\"2025-01-01T00:00:00Z\""
        + conditions
        + "}}";
  }

  private static void deleteTree(Path dir) {
    if (dir == null) {
      return;
    }
    try (var files = Files.walk(dir)) {
      for (Path file : files.sorted(java.util.Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(file);
      }
    } catch (IOException ignored) {
      // a temp file left behind is harmless
    }
  }
}
