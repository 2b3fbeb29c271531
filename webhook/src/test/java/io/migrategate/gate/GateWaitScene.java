package io.migrategate.gate;

import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.ServiceAccountBuilder;
import io.fabric8.kubernetes.api.model.authentication.TokenRequestBuilder;
import io.fabric8.kubernetes.api.model.rbac.ClusterRoleBindingBuilder;
import io.fabric8.kubernetes.api.model.rbac.ClusterRoleBuilder;
import io.fabric8.kubernetes.api.model.rbac.PolicyRuleBuilder;
import io.fabric8.kubernetes.api.model.rbac.RoleBindingBuilder;
import io.fabric8.kubernetes.api.model.rbac.RoleBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.migrategate.certs.CertificateAuthority;
import io.migrategate.certs.IssuedCertificate;
import io.migrategate.cluster.LocalCluster;
import io.migrategate.cluster.PodWebhook;
import io.migrategate.cluster.TokenKubeconfig;
import io.migrategate.gate.observability.GateLog;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/**
 * A whole gate in this JVM against the local control plane, as a gate pod would run: its own
 * ServiceAccount with exactly the documented RBAC (no admin), HTTPS on a fixed port so it can be
 * restarted in place, the wait API on, and a MutatingWebhookConfiguration limited to namespaces
 * labelled for this scene.
 */
final class GateWaitScene implements AutoCloseable {
  static final String WAITER_IMAGE = "registry.example/migrate-gate-waiter:test";
  static final String AUDIENCE = "migrate-gate";

  final LocalCluster cluster;
  final KubernetesClient admin;
  final String gateNamespace;
  final Path dir;
  final int port;
  final int waitPort;
  final String caPem;
  private final String label;
  private final String clusterRole;
  private final String webhookName;
  private final Path gateKubeconfig;
  private final Path certFile;
  private final Path keyFile;
  private final Path caFile;
  private final ByteArrayOutputStream gateLog = new ByteArrayOutputStream();
  private final List<String> appNamespaces = new ArrayList<>();
  private final List<String> extraFlags = new ArrayList<>();
  private Gate gate;
  private PodWebhook webhook;

  /**
   * @param extraFlags more flags for the gate, e.g. {@code --admission-fast-path on}
   */
  GateWaitScene(LocalCluster cluster, String... extraFlags) throws Exception {
    this.cluster = cluster;
    this.extraFlags.addAll(List.of(extraFlags));
    this.admin = cluster.client();
    this.gateNamespace = cluster.createNamespace("gate", Map.of());
    this.label = "migrate-gate.test/gatewait";
    this.clusterRole = "migrate-gate-" + gateNamespace;
    this.webhookName = "migrate-gate-" + gateNamespace;
    this.dir = Files.createTempDirectory("gate-wait-scene");
    try (ServerSocket free = new ServerSocket(0);
        ServerSocket freeToo = new ServerSocket(0)) {
      port = free.getLocalPort();
      waitPort = freeToo.getLocalPort();
    }
    CertificateAuthority ca =
        CertificateAuthority.generate("gate-wait-test-ca", Duration.ofDays(1));
    IssuedCertificate leaf =
        ca.issueServing(List.of("localhost"), List.of("127.0.0.1"), Duration.ofDays(1));
    caPem = ca.certificatePem();
    certFile = Files.writeString(dir.resolve("tls.crt"), leaf.certificatePem());
    keyFile = Files.writeString(dir.resolve("tls.key"), leaf.privateKeyPem());
    caFile = Files.writeString(dir.resolve("ca.crt"), caPem);
    grantGateRbac();
    gateKubeconfig = kubeconfigFor(gateNamespace, "migrate-gate");
    startGate();
    registerWebhook();
  }

  /** The gate's RBAC as manifests/base/rbac.yaml has it (docs/gate-wait-api.md). */
  private void grantGateRbac() {
    admin
        .serviceAccounts()
        .inNamespace(gateNamespace)
        .resource(serviceAccount("migrate-gate"))
        .create();
    admin
        .rbac()
        .clusterRoles()
        .resource(
            new ClusterRoleBuilder()
                .withNewMetadata()
                .withName(clusterRole)
                .endMetadata()
                .withRules(
                    new PolicyRuleBuilder()
                        .withApiGroups("apps")
                        .withResources("replicasets", "deployments", "statefulsets", "daemonsets")
                        .withVerbs("get", "list", "watch")
                        .build(),
                    new PolicyRuleBuilder()
                        .withApiGroups("batch")
                        .withResources("jobs")
                        .withVerbs("list", "watch")
                        .build(),
                    new PolicyRuleBuilder()
                        .withApiGroups("authentication.k8s.io")
                        .withResources("tokenreviews")
                        .withVerbs("create")
                        .build(),
                    new PolicyRuleBuilder()
                        .withApiGroups("")
                        .withResources("pods")
                        .withVerbs("list", "watch")
                        .build())
                .build())
        .create();
    admin
        .rbac()
        .clusterRoleBindings()
        .resource(
            new ClusterRoleBindingBuilder()
                .withNewMetadata()
                .withName(clusterRole)
                .endMetadata()
                .withNewRoleRef("rbac.authorization.k8s.io", "ClusterRole", clusterRole)
                .addNewSubject()
                .withKind("ServiceAccount")
                .withName("migrate-gate")
                .withNamespace(gateNamespace)
                .endSubject()
                .build())
        .create();
    admin
        .rbac()
        .roles()
        .inNamespace(gateNamespace)
        .resource(
            new RoleBuilder()
                .withNewMetadata()
                .withName("migrate-gate")
                .endMetadata()
                .withRules(
                    new PolicyRuleBuilder()
                        .withApiGroups("")
                        .withResources("configmaps")
                        .withVerbs("get", "list", "watch", "create", "update")
                        .build(),
                    new PolicyRuleBuilder()
                        .withApiGroups("")
                        .withResources("secrets")
                        .withResourceNames(io.migrategate.gate.ledger.LedgerKey.DEFAULT_SECRET)
                        .withVerbs("get", "update")
                        .build())
                .build())
        .create();
    // The ledger's key Secret, pre-created empty as the manifests do.
    admin
        .secrets()
        .inNamespace(gateNamespace)
        .resource(
            new io.fabric8.kubernetes.api.model.SecretBuilder()
                .withNewMetadata()
                .withName(io.migrategate.gate.ledger.LedgerKey.DEFAULT_SECRET)
                .endMetadata()
                .build())
        .create();
    admin
        .rbac()
        .roleBindings()
        .inNamespace(gateNamespace)
        .resource(
            new RoleBindingBuilder()
                .withNewMetadata()
                .withName("migrate-gate")
                .endMetadata()
                .withNewRoleRef("rbac.authorization.k8s.io", "Role", "migrate-gate")
                .addNewSubject()
                .withKind("ServiceAccount")
                .withName("migrate-gate")
                .withNamespace(gateNamespace)
                .endSubject()
                .build())
        .create();
  }

  /** Starts the gate (again, on the same port); returns once it listens. */
  void startGate() throws Exception {
    List<String> flags =
        new ArrayList<>(
            List.of(
                "--port", Integer.toString(port),
                "--wait-port", Integer.toString(waitPort),
                "--probe-port", "0",
                "--tls-cert-file", certFile.toString(),
                "--tls-key-file", keyFile.toString(),
                "--waiter-image", WAITER_IMAGE,
                "--namespace", gateNamespace,
                "--kubeconfig", gateKubeconfig.toString(),
                "--wait-url", waitUrl(),
                "--wait-ca-file", caFile.toString(),
                "--drain-delay", "0s",
                "--shutdown-timeout", "2s"));
    flags.addAll(extraFlags);
    GateConfig config = GateConfig.parse(flags, Map.of());
    gate =
        Gate.start(
            config,
            Gate::defaultReviewer,
            new GateLog(
                GateConfig.LogFormat.TEXT, new PrintStream(gateLog, true, StandardCharsets.UTF_8)));
  }

  /** SIGTERM's path: drain, close streams (waiters reconnect), stop. */
  void stopGate() {
    gate.drainAndStop();
  }

  /** Whether the gate's Job tracker has read the Jobs and its ledger (its /metrics says so). */
  boolean trackerReady() {
    // The sample line itself: the HELP line ("... ready 1 when Jobs ...") must not count.
    return metrics().lines().anyMatch("migrate_gate_job_tracker_ready 1"::equals);
  }

  /** The value of one sample of the gate's /metrics, e.g. {@code name{label="x"}}; -1 if absent. */
  long metric(String sample) {
    return metrics()
        .lines()
        .filter(line -> line.startsWith(sample + " "))
        .mapToLong(line -> (long) Double.parseDouble(line.substring(sample.length() + 1)))
        .findFirst()
        .orElse(-1);
  }

  /** The gate's /metrics text, or "" while it does not answer. */
  String metrics() {
    try {
      return HttpClient.newHttpClient()
          .send(
              HttpRequest.newBuilder(
                      URI.create("http://127.0.0.1:" + gate.probePort() + "/metrics"))
                  .timeout(Duration.ofSeconds(5))
                  .build(),
              HttpResponse.BodyHandlers.ofString())
          .body();
    } catch (IOException e) {
      return "";
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return "";
    }
  }

  /** The wait API, where waiters reach it. */
  String waitUrl() {
    return "https://127.0.0.1:" + waitPort;
  }

  /** The admission port. */
  String admissionUrl() {
    return "https://127.0.0.1:" + port;
  }

  Gate gate() {
    return gate;
  }

  String gateLog() {
    return gateLog.toString(StandardCharsets.UTF_8);
  }

  /** A namespace whose pods the gate's webhook sees. */
  String appNamespace(String prefix) {
    String namespace = cluster.createNamespace(prefix, Map.of());
    admin
        .namespaces()
        .withName(namespace)
        .edit(
            n ->
                new NamespaceBuilder(n)
                    .editMetadata()
                    .addToLabels(label, gateNamespace)
                    .endMetadata()
                    .build());
    appNamespaces.add(namespace);
    return namespace;
  }

  /**
   * A ServiceAccount without any RBAC, a pod running as it, and a token for it with the gate's
   * audience bound to that pod, as the projected volume the webhook injects would hold; written to
   * a file.
   */
  Path appToken(String namespace, String serviceAccount) throws IOException {
    admin
        .serviceAccounts()
        .inNamespace(namespace)
        .resource(serviceAccount(serviceAccount))
        .create();
    Pod pod = holderPod(namespace, serviceAccount);
    return Files.writeString(
        dir.resolve(namespace + "-" + serviceAccount + ".token"),
        boundToken(namespace, serviceAccount, pod, AUDIENCE));
  }

  /** A pod of {@code serviceAccount}, for tokens bound to a pod (kwok plays it running). */
  Pod holderPod(String namespace, String serviceAccount) {
    return holderPod(namespace, serviceAccount, false);
  }

  /**
   * As {@link #holderPod(String, String)}; {@code pending}: held back by a scheduling gate, so it
   * stays Pending as a pod whose migrate-wait runs does.
   */
  Pod holderPod(String namespace, String serviceAccount, boolean pending) {
    PodBuilder pod =
        new PodBuilder()
            .withNewMetadata()
            .withGenerateName(serviceAccount + "-holder-")
            .endMetadata()
            .withNewSpec()
            .withServiceAccountName(serviceAccount)
            .addNewContainer()
            .withName("app")
            .withImage("registry.example/app:1")
            .endContainer()
            .endSpec();
    if (pending) {
      pod.editSpec()
          .addNewSchedulingGate()
          .withName("migrate.io/test")
          .endSchedulingGate()
          .endSpec();
    }
    return admin.pods().inNamespace(namespace).resource(pod.build()).create();
  }

  /** A TokenRequest token for {@code audience}, bound to {@code pod} as a projected token is. */
  String boundToken(String namespace, String serviceAccount, Pod pod, String audience) {
    return admin
        .serviceAccounts()
        .inNamespace(namespace)
        .withName(serviceAccount)
        .tokenRequest(
            new TokenRequestBuilder()
                .withNewSpec()
                .withAudiences(audience)
                .withExpirationSeconds(3600L)
                .withNewBoundObjectRef()
                .withApiVersion("v1")
                .withKind("Pod")
                .withName(pod.getMetadata().getName())
                .withUid(pod.getMetadata().getUid())
                .endBoundObjectRef()
                .endSpec()
                .build())
        .getStatus()
        .getToken();
  }

  /**
   * A TokenRequest token (audience {@code audience}, or the API server's when null) bound to no
   * object, as {@code kubectl create token} makes it.
   */
  String token(String namespace, String serviceAccount, String audience) {
    TokenRequestBuilder request =
        new TokenRequestBuilder().withNewSpec().withExpirationSeconds(3600L).endSpec();
    if (audience != null) {
      request.editSpec().withAudiences(audience).endSpec();
    }
    return admin
        .serviceAccounts()
        .inNamespace(namespace)
        .withName(serviceAccount)
        .tokenRequest(request.build())
        .getStatus()
        .getToken();
  }

  /** A client trusting the gate's CA. */
  HttpClient httpClient() throws Exception {
    return httpClient(Duration.ofSeconds(5));
  }

  HttpClient httpClient(Duration connectTimeout) throws Exception {
    KeyStore store = KeyStore.getInstance(KeyStore.getDefaultType());
    store.load(null, null);
    store.setCertificateEntry(
        "ca",
        java.security.cert.CertificateFactory.getInstance("X.509")
            .generateCertificate(
                new java.io.ByteArrayInputStream(caPem.getBytes(StandardCharsets.US_ASCII))));
    TrustManagerFactory trust =
        TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    trust.init(store);
    SSLContext context = SSLContext.getInstance("TLS");
    context.init(null, trust.getTrustManagers(), null);
    return HttpClient.newBuilder()
        .version(HttpClient.Version.HTTP_1_1)
        .sslContext(context)
        .connectTimeout(connectTimeout)
        .build();
  }

  private void registerWebhook() {
    webhook =
        PodWebhook.register(
            admin, webhookName, admissionUrl() + "/mutate", caPem, Map.of(label, gateNamespace));
  }

  private Path kubeconfigFor(String namespace, String serviceAccount) {
    return TokenKubeconfig.write(
        dir.resolve("gate.kubeconfig"),
        admin.getConfiguration(),
        cluster.apiServerUrl(),
        serviceAccount,
        token(namespace, serviceAccount, null),
        null);
  }

  private static io.fabric8.kubernetes.api.model.ServiceAccount serviceAccount(String name) {
    return new ServiceAccountBuilder().withNewMetadata().withName(name).endMetadata().build();
  }

  @Override
  public void close() {
    if (gate != null) {
      gate.drainAndStop();
    }
    if (webhook != null) {
      webhook.close();
    }
    admin.rbac().clusterRoleBindings().withName(clusterRole).delete();
    admin.rbac().clusterRoles().withName(clusterRole).delete();
    for (String namespace : appNamespaces) {
      admin.namespaces().withName(namespace).delete();
    }
    admin.namespaces().withName(gateNamespace).delete();
  }
}
