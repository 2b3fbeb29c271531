package io.migrategate.cluster;

import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.migrategate.certs.CertificateAuthority;
import io.migrategate.certs.IssuedCertificate;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import org.junit.jupiter.api.Test;

/** kube-apiserver calls a mutating webhook served on the host (127.0.0.1) over TLS. */
@LocalClusterTest
class WebhookCallClusterTest {

  @Test
  void apiServerCallsWebhookOnLoopbackAndStoresItsMutation(LocalCluster cluster) throws Exception {
    KubernetesClient client = cluster.client();
    String ns = cluster.createNamespace("webhook", Map.of());
    CertificateAuthority ca = CertificateAuthority.generate("test-webhook-ca", Duration.ofHours(1));
    IssuedCertificate leaf =
        ca.issueServing(List.of("localhost"), List.of("127.0.0.1"), Duration.ofHours(1));
    AtomicInteger calls = new AtomicInteger();

    HttpsServer server = HttpsServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    server.setHttpsConfigurator(new HttpsConfigurator(sslContext(leaf)));
    server.createContext(
        "/mutate",
        exchange -> {
          calls.incrementAndGet();
          String review =
              new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
          byte[] reply = mutationReply(review).getBytes(StandardCharsets.UTF_8);
          exchange.getResponseHeaders().add("Content-Type", "application/json");
          exchange.sendResponseHeaders(200, reply.length);
          exchange.getResponseBody().write(reply);
          exchange.close();
        });
    server.start();
    try (PodWebhook webhook =
        PodWebhook.register(
            client,
            "test-webhook-" + ns,
            "https://127.0.0.1:" + server.getAddress().getPort() + "/mutate",
            ca.certificatePem(),
            Map.of("kubernetes.io/metadata.name", ns))) {
      // The webhook configuration reaches the API server's admission chain asynchronously.
      PodWebhook.awaitCalled(
          client, ns, pod("probe"), WebhookCallClusterTest::mutated, Duration.ofSeconds(30));
      Pod stored = client.pods().inNamespace(ns).resource(pod("app")).create();
      assertTrue(mutated(stored), "the stored pod carries the webhook's annotation");
      assertTrue(calls.get() >= 2, "the API server called the webhook (dry run and create)");
    } finally {
      server.stop(0);
    }
  }

  private static Pod pod(String name) {
    return new PodBuilder()
        .withNewMetadata()
        .withName(name)
        .endMetadata()
        .withNewSpec()
        .addNewContainer()
        .withName("app")
        .withImage("registry.example/app:1")
        .endContainer()
        .endSpec()
        .build();
  }

  private static boolean mutated(Pod pod) {
    Map<String, String> annotations = pod.getMetadata().getAnnotations();
    return annotations != null && "yes".equals(annotations.get("test.migrate-gate.io/mutated"));
  }

  private static final Pattern UID = Pattern.compile("\"uid\"\\s*:\\s*\"([^\"]+)\"");

  /** Allows the pod and adds one annotation (the pod has none, so the patch creates the map). */
  private static String mutationReply(String review) {
    Matcher uid = UID.matcher(review);
    String requestUid = uid.find() ? uid.group(1) : "";
    String patch =
        "[{\"op\":\"add\",\"path\":\"/metadata/annotations\",\"value\":{\"test.migrate-gate.io/mutated\":\"yes\"}}]";
    return "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"response\":{\"uid\":\""
        + requestUid
        + "\",\"allowed\":true,\"patchType\":\"JSONPatch\",\"patch\":\""
        + Base64.getEncoder().encodeToString(patch.getBytes(StandardCharsets.UTF_8))
        + "\"}}";
  }

  private static SSLContext sslContext(IssuedCertificate leaf)
      throws GeneralSecurityException, IOException {
    KeyStore keyStore = KeyStore.getInstance("PKCS12");
    keyStore.load(null, null);
    char[] password = "test".toCharArray();
    keyStore.setKeyEntry(
        "leaf", leaf.privateKey(), password, new Certificate[] {leaf.certificate(), leaf.issuer()});
    KeyManagerFactory keyManagers =
        KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
    keyManagers.init(keyStore, password);
    SSLContext context = SSLContext.getInstance("TLS");
    context.init(keyManagers.getKeyManagers(), null, null);
    return context;
  }
}
