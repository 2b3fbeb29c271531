package io.migrategate.gate.admission;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerBuilder;
import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.PodSpecBuilder;
import io.fabric8.kubernetes.api.model.VolumeMount;
import io.fabric8.kubernetes.api.model.admission.v1.AdmissionReview;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.DeploymentBuilder;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.batch.v1.JobBuilder;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import io.migrategate.certs.CertificateAuthority;
import io.migrategate.certs.IssuedCertificate;
import io.migrategate.cluster.LocalCluster;
import io.migrategate.cluster.LocalClusterTest;
import io.migrategate.cluster.PodWebhook;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.stream.Collectors;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The reviewer behind a minimal HTTPS endpoint in this JVM, registered with the real API server
 * through a MutatingWebhookConfiguration; real controllers create the pods, PodSecurity
 * "restricted" admits or rejects them.
 */
@LocalClusterTest
class AdmissionClusterTest {
  private static final Duration DEADLINE = Duration.ofSeconds(60);
  private static final String WAITER_IMAGE = "registry.example/migrate-gate-waiter:test";
  private static final KubernetesSerialization SERIALIZATION = new KubernetesSerialization();

  private static HttpsServer server;
  private static ExecutorService executor;
  private static KubernetesOwnerLookup owners;
  private static String namespace;
  private static PodWebhook webhook;

  @BeforeAll
  static void registerGate(LocalCluster cluster) throws Exception {
    KubernetesClient client = cluster.client();
    namespace =
        cluster.createNamespace(
            "admission", Map.of("pod-security.kubernetes.io/enforce", "restricted"));
    client
        .namespaces()
        .withName(namespace)
        .edit(
            n ->
                new io.fabric8.kubernetes.api.model.NamespaceBuilder(n)
                    .editMetadata()
                    .addToLabels("migrate-gate.test/webhook", namespace)
                    .endMetadata()
                    .build());

    owners =
        KubernetesOwnerLookup.start(
            Config.fromKubeconfig(Files.readString(cluster.kubeconfig())), Duration.ofSeconds(2));
    AdmissionReviewer reviewer =
        new PodAdmissionReviewer(
            InjectionConfig.defaults(WAITER_IMAGE, "migrate-gate-system"), owners);

    CertificateAuthority ca =
        CertificateAuthority.generate("admission-test-ca", Duration.ofDays(1));
    IssuedCertificate leaf =
        ca.issueServing(List.of("localhost"), List.of("127.0.0.1"), Duration.ofDays(1));
    server = HttpsServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    server.setHttpsConfigurator(new HttpsConfigurator(sslContext(leaf)));
    server.createContext("/mutate", exchange -> answer(exchange, reviewer));
    executor = Executors.newFixedThreadPool(4);
    server.setExecutor(executor);
    server.start();

    webhook =
        PodWebhook.register(
            client,
            "migrate-gate-test-" + namespace,
            "https://127.0.0.1:" + server.getAddress().getPort() + "/mutate",
            ca.certificatePem(),
            Map.of("migrate-gate.test/webhook", namespace));

    // The API server picks the configuration up asynchronously; a dry run shows when it is active
    // (and that dry-run requests get the same patch).
    Pod probe =
        new PodBuilder()
            .withNewMetadata()
            .withName("probe")
            .addToAnnotations(GateAnnotations.JOB, "migrate")
            .endMetadata()
            .withSpec(restrictedSpec())
            .build();
    PodWebhook.awaitCalled(client, namespace, probe, AdmissionClusterTest::hasWaitFirst, DEADLINE);
  }

  @AfterAll
  static void unregisterGate(LocalCluster cluster) {
    if (webhook != null) {
      webhook.close();
    }
    if (server != null) {
      server.stop(0);
      executor.shutdownNow();
    }
    if (owners != null) {
      owners.close();
    }
    if (namespace != null) {
      cluster.client().namespaces().withName(namespace).delete();
    }
  }

  @Test
  void deploymentAnnotatedOnItsMetadataOnlyGetsWaitFirst(KubernetesClient client) {
    client
        .apps()
        .deployments()
        .inNamespace(namespace)
        .resource(deployment("on-metadata", Map.of(GateAnnotations.JOB, "migrate"), Map.of()))
        .create();
    Pod pod = awaitPod(client, "app", "on-metadata");
    assertInjected(pod, "migrate");
  }

  @Test
  void deploymentAnnotatedOnItsPodTemplateGetsWaitFirst(KubernetesClient client) {
    client
        .apps()
        .deployments()
        .inNamespace(namespace)
        .resource(
            deployment(
                "on-template",
                Map.of(),
                Map.of(GateAnnotations.JOB, "schema,seed", GateAnnotations.TIMEOUT, "10m")))
        .create();
    Pod pod = awaitPod(client, "app", "on-template");
    assertInjected(pod, "schema,seed");
  }

  @Test
  void unannotatedDeploymentsPodsAreUntouched(KubernetesClient client) {
    client
        .apps()
        .deployments()
        .inNamespace(namespace)
        .resource(deployment("plain", Map.of(), Map.of()))
        .create();
    Pod pod = awaitPod(client, "app", "plain");
    assertTrue(pod.getSpec().getInitContainers().isEmpty(), "no init containers");
    assertEquals(
        "skipped: no-annotation", pod.getMetadata().getAnnotations().get(GateAnnotations.STATUS));
  }

  @Test
  void aJobsOwnPodsAreUntouchedEvenWhenTheyNameTheJob(KubernetesClient client) {
    // The chart-wide pod annotation case: the migration Job's template names the Job itself.
    client
        .batch()
        .v1()
        .jobs()
        .inNamespace(namespace)
        .resource(job("migrate", Map.of(GateAnnotations.JOB, "migrate")))
        .create();
    client.batch().v1().jobs().inNamespace(namespace).resource(job("seed", Map.of())).create();
    Pod own = awaitPod(client, "batch.kubernetes.io/job-name", "migrate");
    Pod plain = awaitPod(client, "batch.kubernetes.io/job-name", "seed");
    assertTrue(own.getSpec().getInitContainers().isEmpty());
    assertTrue(plain.getSpec().getInitContainers().isEmpty());
    assertEquals(
        "skipped: names-own-job", own.getMetadata().getAnnotations().get(GateAnnotations.STATUS));
    assertEquals(
        "skipped: job-owned", plain.getMetadata().getAnnotations().get(GateAnnotations.STATUS));
  }

  @Test
  void podWithoutServiceAccountTokenGetsOneForTheWaiterOnly(KubernetesClient client) {
    Pod pod =
        new PodBuilder()
            .withNewMetadata()
            .withName("no-token")
            .addToAnnotations(GateAnnotations.JOB, "migrate")
            .endMetadata()
            .withSpec(
                new PodSpecBuilder(restrictedSpec())
                    .withAutomountServiceAccountToken(false)
                    .build())
            .build();
    Pod stored = client.pods().inNamespace(namespace).resource(pod).create();
    assertTrue(hasWaitFirst(stored));
    Container wait = stored.getSpec().getInitContainers().get(0);
    assertEquals(
        List.of(WaiterContainer.TOKEN_VOLUME),
        wait.getVolumeMounts().stream().map(VolumeMount::getName).toList());
    assertTrue(
        stored.getSpec().getContainers().get(0).getVolumeMounts().isEmpty(), "app has no token");
  }

  @Test
  void anInvalidAnnotationShowsInTheReplicaSetsEvents(KubernetesClient client) {
    client
        .apps()
        .deployments()
        .inNamespace(namespace)
        .resource(deployment("invalid", Map.of(GateAnnotations.JOB, "Migrate_DB"), Map.of()))
        .create();
    LocalCluster.await(
        "a FailedCreate event on the ReplicaSet naming the annotation and the value",
        DEADLINE,
        () ->
            client.v1().events().inNamespace(namespace).list().getItems().stream()
                .anyMatch(
                    e ->
                        "ReplicaSet".equals(e.getInvolvedObject().getKind())
                            && "FailedCreate".equals(e.getReason())
                            && e.getMessage().contains("migrate.io/job: \"Migrate_DB\"")
                            && e.getMessage().contains("Deployment " + namespace + "/invalid")));
    assertTrue(
        client
            .pods()
            .inNamespace(namespace)
            .withLabel("app", "invalid")
            .list()
            .getItems()
            .isEmpty(),
        "no pod was created");
  }

  private static void assertInjected(Pod pod, String jobs) {
    assertTrue(hasWaitFirst(pod), "migrate-wait first: " + initNames(pod));
    Container wait = pod.getSpec().getInitContainers().get(0);
    assertEquals(WAITER_IMAGE, wait.getImage());
    Map<String, String> env =
        wait.getEnv().stream().collect(Collectors.toMap(e -> e.getName(), e -> e.getValue()));
    assertEquals(namespace, env.get("MIGRATE_GATE_NAMESPACE"));
    assertEquals(jobs, env.get("MIGRATE_GATE_JOBS"));
    assertEquals("injected", pod.getMetadata().getAnnotations().get(GateAnnotations.STATUS));
    // The ServiceAccount token the kubelet would mount reaches the waiter too.
    assertTrue(
        wait.getVolumeMounts().stream()
            .anyMatch(m -> m.getMountPath().equals(WaiterContainer.TOKEN_MOUNT_PATH)),
        "token mount: " + wait.getVolumeMounts());
    assertFalse(wait.getResources().getLimits().isEmpty());
  }

  private static boolean hasWaitFirst(Pod pod) {
    List<Container> init = pod.getSpec().getInitContainers();
    return !init.isEmpty() && WaiterContainer.NAME.equals(init.get(0).getName());
  }

  private static List<String> initNames(Pod pod) {
    return pod.getSpec().getInitContainers().stream().map(Container::getName).toList();
  }

  /** The stored pod with {@code label=value}; on timeout the namespace's events say why. */
  private static Pod awaitPod(KubernetesClient client, String label, String value) {
    try {
      LocalCluster.await(
          "a pod with " + label + "=" + value,
          DEADLINE,
          () ->
              !client
                  .pods()
                  .inNamespace(namespace)
                  .withLabel(label, value)
                  .list()
                  .getItems()
                  .isEmpty());
    } catch (AssertionError e) {
      String events =
          client.v1().events().inNamespace(namespace).list().getItems().stream()
              .map(Event::getMessage)
              .collect(Collectors.joining("\n"));
      throw new AssertionError(e.getMessage() + "\nevents:\n" + events, e);
    }
    return client.pods().inNamespace(namespace).withLabel(label, value).list().getItems().get(0);
  }

  /** A pod spec PodSecurity "restricted" accepts on its own. */
  static PodSpec restrictedSpec() {
    return new PodSpecBuilder()
        .withNewSecurityContext()
        .withRunAsNonRoot(true)
        .withNewSeccompProfile()
        .withType("RuntimeDefault")
        .endSeccompProfile()
        .endSecurityContext()
        .withContainers(
            new ContainerBuilder()
                .withName("app")
                .withImage("registry.example/app:1")
                .withNewSecurityContext()
                .withRunAsUser(1000L)
                .withAllowPrivilegeEscalation(false)
                .withNewCapabilities()
                .withDrop("ALL")
                .endCapabilities()
                .endSecurityContext()
                .build())
        .build();
  }

  static Deployment deployment(
      String name, Map<String, String> annotations, Map<String, String> templateAnnotations) {
    return new DeploymentBuilder()
        .withNewMetadata()
        .withName(name)
        .withAnnotations(annotations)
        .endMetadata()
        .withNewSpec()
        .withReplicas(1)
        .withNewSelector()
        .addToMatchLabels("app", name)
        .endSelector()
        .withNewTemplate()
        .withNewMetadata()
        .addToLabels("app", name)
        .withAnnotations(templateAnnotations)
        .endMetadata()
        .withSpec(restrictedSpec())
        .endTemplate()
        .endSpec()
        .build();
  }

  private static Job job(String name, Map<String, String> templateAnnotations) {
    return new JobBuilder()
        .withNewMetadata()
        .withName(name)
        .endMetadata()
        .withNewSpec()
        .withBackoffLimit(0)
        .withNewTemplate()
        .withNewMetadata()
        .withAnnotations(templateAnnotations)
        .endMetadata()
        .withSpec(new PodSpecBuilder(restrictedSpec()).withRestartPolicy("Never").build())
        .endTemplate()
        .endSpec()
        .build();
  }

  static void answer(HttpExchange exchange, AdmissionReviewer reviewer) throws IOException {
    try (exchange) {
      AdmissionReview review;
      try (InputStream body = exchange.getRequestBody()) {
        review = SERIALIZATION.unmarshal(body, AdmissionReview.class);
      }
      // The gate's two admission paths, as AdmissionVerticle routes them.
      AdmissionReviewer.Entry entry =
          exchange.getRequestURI().getPath().equals(AdmissionReviewer.ENFORCED_PATH)
              ? AdmissionReviewer.Entry.ENFORCED
              : AdmissionReviewer.Entry.STANDARD;
      byte[] response =
          SERIALIZATION
              .asJson(reviewer.review(review, entry).response())
              .getBytes(StandardCharsets.UTF_8);
      exchange.getResponseHeaders().set("Content-Type", "application/json");
      exchange.sendResponseHeaders(200, response.length);
      try (OutputStream out = exchange.getResponseBody()) {
        out.write(response);
      }
    }
  }

  static SSLContext sslContext(IssuedCertificate leaf) throws Exception {
    char[] password = "test".toCharArray();
    KeyStore keyStore = KeyStore.getInstance("PKCS12");
    keyStore.load(null, null);
    keyStore.setKeyEntry(
        "serving",
        leaf.privateKey(),
        password,
        new Certificate[] {leaf.certificate(), leaf.issuer()});
    KeyManagerFactory keys = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
    keys.init(keyStore, password);
    SSLContext context = SSLContext.getInstance("TLS");
    context.init(keys.getKeyManagers(), null, null);
    return context;
  }
}
