package io.migrategate.gate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.migrategate.cluster.LocalCluster;
import io.migrategate.cluster.LocalClusterTest;
import io.migrategate.cluster.PodWebhook;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code --admission-client-ca} on real API servers: one configured as docs/configuration.md says
 * (an AdmissionConfiguration whose WebhookAdmission kubeconfig gives it a client certificate for
 * the gate's host:port) has its pods admitted; the local cluster's own API server, which presents
 * no client certificate, cannot call the gate at all, so its annotated pods are rejected
 * (failurePolicy Fail).
 */
@LocalClusterTest
class AdmissionMutualTlsClusterTest {
  @TempDir Path dir;

  @Test
  void onlyTheApiServerWithTheClientCertificateCanCallTheGate(LocalCluster cluster)
      throws Exception {
    ClientCertificates clients = ClientCertificates.create("migrate-gate-admission-clients");
    ClientCertificates.Client apiServer = clients.issue("kube-apiserver-webhook-client");
    Path clientCa = Files.writeString(dir.resolve("client-ca.pem"), clients.caPem());
    Path certificate = Files.writeString(dir.resolve("client.crt"), apiServer.certificatePem());
    Path key = Files.writeString(dir.resolve("client.key"), apiServer.privateKeyPem());

    try (GateFixture gate =
        new GateFixture(new StubReviewer(), "--admission-client-ca", clientCa.toString())) {
      String webhookUrl = "https://127.0.0.1:" + gate.gate.port() + "/mutate";
      String caBundle = gate.pki.caCertificatePem();
      try (AdmissionConfiguredApiServer configured =
          new AdmissionConfiguredApiServer(
              cluster,
              dir,
              Map.of("127.0.0.1:" + gate.gate.port(), new Path[] {certificate, key}))) {
        KubernetesClient client = configured.client();
        String namespace = namespace(client, "mtls");
        try (PodWebhook webhook =
            PodWebhook.register(
                client, "migrate-gate-mtls", webhookUrl, caBundle, Map.of("mtls-test", "on"))) {
          Pod admitted = client.pods().inNamespace(namespace).resource(pod("with-cert")).create();
          assertEquals(
              "injected",
              admitted.getMetadata().getAnnotations().get("migrate.io/status"),
              "the gate answered this API server (it presented its client certificate)");
        }
      }

      // The local cluster's API server has no admission configuration: no client certificate.
      KubernetesClient plain = cluster.client();
      String namespace = namespace(plain, "mtls-plain");
      try (PodWebhook webhook =
          PodWebhook.register(
              plain,
              "migrate-gate-mtls-" + namespace,
              webhookUrl,
              caBundle,
              Map.of("mtls-test", namespace))) {
        KubernetesClientException rejected =
            assertThrows(
                KubernetesClientException.class,
                () -> plain.pods().inNamespace(namespace).resource(pod("without-cert")).create());
        assertTrue(rejected.getMessage().contains("failed calling webhook"), rejected.getMessage());
      } finally {
        plain.namespaces().withName(namespace).delete();
      }
      // The one review the gate answered is the configured API server's.
      assertEquals(
          1.0,
          gate.metric(
              "migrate_gate_admission_reviews_total{outcome=\"injected\",reason=\"\","
                  + "dry_run=\"false\"}"));
    }
  }

  private static String namespace(KubernetesClient client, String prefix) {
    String name = prefix + "-" + Long.toString(System.nanoTime() % 1_000_000_000L, 36);
    client
        .namespaces()
        .resource(
            new NamespaceBuilder()
                .withNewMetadata()
                .withName(name)
                .addToLabels("mtls-test", prefix.equals("mtls") ? "on" : name)
                .endMetadata()
                .build())
        .create();
    return name;
  }

  private static Pod pod(String name) {
    return new PodBuilder()
        .withNewMetadata()
        .withName(name)
        .addToAnnotations("migrate.io/job", "db-migrate")
        .endMetadata()
        .withNewSpec()
        .addNewContainer()
        .withName("app")
        .withImage("registry.example/app:1")
        .endContainer()
        .endSpec()
        .build();
  }
}
