package io.migrategate.gate;

import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.ConfigBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.migrategate.cluster.LocalCluster;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * A second kube-apiserver of the local control plane's own build, started with an {@code
 * --admission-control-config-file}: the one thing the shared API server (local-cluster/up) is not
 * started with, and what a cluster operator configures to give the API server a client certificate
 * for a webhook. It shares the local cluster's etcd under an etcd prefix of its own (an empty,
 * separate cluster: nothing the other tests see) and its PKI (serving certificate for 127.0.0.1,
 * the admin client CA, the ServiceAccount keys). No controllers run: objects are stored and
 * admitted, which is all a webhook test needs.
 */
final class AdmissionConfiguredApiServer implements AutoCloseable {
  static final Duration READY_TIMEOUT = Duration.ofSeconds(90);

  private final LocalCluster cluster;
  private final Process process;
  private final String etcdPrefix;
  private final String etcdUrl;
  private final int port;
  private final Path log;
  private final KubernetesClient client;

  /**
   * @param webhookUsers kubeconfig {@code users} for the API server's webhook calls: the entry's
   *     name (a webhook's host:port, e.g. {@code 127.0.0.1:8443}) → its client certificate and key
   *     files
   */
  AdmissionConfiguredApiServer(LocalCluster cluster, Path dir, Map<String, Path[]> webhookUsers)
      throws Exception {
    this.cluster = cluster;
    Path state = cluster.stateDir();
    Path pki = state.resolve("pki");
    Map<String, String> ports = ports(state.resolve("ports.env"));
    this.etcdUrl = "http://127.0.0.1:" + ports.get("ETCD_PORT");
    this.etcdPrefix = "/migrate-gate-test-" + UUID.randomUUID();
    try (ServerSocket free = new ServerSocket(0)) {
      port = free.getLocalPort();
    }
    StringBuilder users = new StringBuilder();
    webhookUsers.forEach(
        (name, files) ->
            users
                .append("- name: '")
                .append(name)
                .append("'\n  user:\n    client-certificate: ")
                .append(files[0])
                .append("\n    client-key: ")
                .append(files[1])
                .append('\n'));
    Path webhookKubeconfig =
        Files.writeString(
            dir.resolve("webhook-kubeconfig.yaml"),
            "apiVersion: v1\nkind: Config\nusers:\n" + users);
    Path admission =
        Files.writeString(
            dir.resolve("admission.yaml"),
            String.join(
                "\n",
                "apiVersion: apiserver.config.k8s.io/v1",
                "kind: AdmissionConfiguration",
                "plugins:",
                "- name: MutatingAdmissionWebhook",
                "  configuration:",
                "    apiVersion: apiserver.config.k8s.io/v1",
                "    kind: WebhookAdmissionConfiguration",
                "    kubeConfigFile: " + webhookKubeconfig,
                ""));
    log = dir.resolve("kube-apiserver.log");
    List<String> command =
        new ArrayList<>(
            List.of(
                cluster.binDir().resolve("kube-apiserver").toString(),
                "--etcd-servers=" + etcdUrl,
                "--etcd-prefix=" + etcdPrefix,
                "--bind-address=127.0.0.1",
                "--advertise-address=127.0.0.1",
                "--secure-port=" + port,
                "--tls-cert-file=" + pki.resolve("apiserver.crt"),
                "--tls-private-key-file=" + pki.resolve("apiserver.key"),
                "--client-ca-file=" + pki.resolve("ca.crt"),
                "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
                "--service-account-key-file=" + pki.resolve("sa.pub"),
                "--service-account-signing-key-file=" + pki.resolve("sa.key"),
                "--api-audiences=https://kubernetes.default.svc.cluster.local",
                "--authorization-mode=RBAC",
                // No controller creates default ServiceAccounts in this empty cluster.
                "--disable-admission-plugins=ServiceAccount",
                "--admission-control-config-file=" + admission,
                "--service-cluster-ip-range=10.97.0.0/16",
                "--profiling=false",
                "--v=1"));
    process =
        new ProcessBuilder(command)
            .redirectErrorStream(true)
            .redirectOutput(log.toFile())
            .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()))
            .start();
    Config admin = cluster.client().getConfiguration();
    Config config =
        new ConfigBuilder(admin)
            .withMasterUrl("https://127.0.0.1:" + port)
            .withRequestTimeout(30_000)
            .build();
    client = new KubernetesClientBuilder().withConfig(config).build();
    try {
      LocalCluster.await(
          "the second kube-apiserver is ready (log: " + log + ")",
          READY_TIMEOUT,
          () -> {
            if (!process.isAlive()) {
              throw new IllegalStateException("kube-apiserver exited, see " + log);
            }
            return "ok".equals(client.raw("/readyz"));
          });
    } catch (RuntimeException | AssertionError e) {
      close();
      throw e;
    }
  }

  KubernetesClient client() {
    return client;
  }

  String url() {
    return "https://127.0.0.1:" + port;
  }

  Path log() {
    return log;
  }

  private static Map<String, String> ports(Path file) throws IOException {
    Map<String, String> values = new java.util.HashMap<>();
    for (String line : Files.readAllLines(file)) {
      int equals = line.indexOf('=');
      if (equals > 0) {
        values.put(line.substring(0, equals).trim(), line.substring(equals + 1).trim());
      }
    }
    return values;
  }

  @Override
  public void close() {
    client.close();
    process.destroy();
    try {
      if (!process.waitFor(20, java.util.concurrent.TimeUnit.SECONDS)) {
        process.destroyForcibly();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      process.destroyForcibly();
    }
    // Leave nothing in the shared etcd: delete this server's prefix (etcd's v3 JSON gateway).
    try {
      byte[] start = etcdPrefix.getBytes(StandardCharsets.UTF_8);
      byte[] end = etcdPrefix.getBytes(StandardCharsets.UTF_8);
      end[end.length - 1]++;
      String body =
          "{\"key\":\""
              + Base64.getEncoder().encodeToString(start)
              + "\",\"range_end\":\""
              + Base64.getEncoder().encodeToString(end)
              + "\"}";
      HttpClient.newHttpClient()
          .send(
              HttpRequest.newBuilder(URI.create(etcdUrl + "/v3/kv/deleterange"))
                  .timeout(Duration.ofSeconds(10))
                  .POST(HttpRequest.BodyPublishers.ofString(body))
                  .build(),
              HttpResponse.BodyHandlers.discarding());
    } catch (IOException e) {
      // best effort: local-cluster/down removes etcd's data anyway
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
