package io.migrategate.gate.admission;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerBuilder;
import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.api.model.LabelSelectorRequirementBuilder;
import io.fabric8.kubernetes.api.model.ObjectMeta;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.PodSpecBuilder;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.MutatingWebhook;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.MutatingWebhookConfiguration;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.WebhookClientConfigBuilder;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.batch.v1.JobBuilder;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import io.migrategate.certs.CertificateAuthority;
import io.migrategate.certs.IssuedCertificate;
import io.migrategate.cluster.LocalCluster;
import io.migrategate.cluster.LocalClusterTest;
import io.migrategate.cluster.PodWebhook;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The admission-side bypasses of issue 12 (items 2 and 8), on the real API server with the webhook
 * configuration exactly as {@code manifests/base} ships it (its entries, selectors and
 * matchConditions; only the client config points at the reviewer in this JVM, and a namespace
 * selector term limits it to this test's namespaces): a pod label exempts nothing outside the
 * gate's namespace, an enforced namespace denies opting out, a container named {@code migrate-wait}
 * that is not the gate's is denied, the gate's own is recognized after the API server's defaulting,
 * a mirror pod is skipped rather than hidden, and the audit no longer takes a status on trust.
 */
@LocalClusterTest
class ShippedWebhookClusterTest {
  private static final Duration DEADLINE = Duration.ofSeconds(60);
  private static final String WAITER_IMAGE = "registry.example/migrate-gate-waiter:test";
  private static final String WAIT_URL = "https://migrate-gate.migrate-gate.svc";
  private static final String SCOPE_LABEL = "migrate-gate.test/shipped";
  private static final KubernetesSerialization SERIALIZATION = new KubernetesSerialization();

  private static HttpsServer server;
  private static ExecutorService executor;
  private static KubernetesOwnerLookup owners;
  private static String configuration;
  private static String plain;
  private static String enabled;
  private static String enforced;
  private static String unlabelled;

  @BeforeAll
  static void registerTheShippedWebhookConfiguration(LocalCluster cluster) throws Exception {
    KubernetesClient client = cluster.client();
    plain = cluster.createNamespace("shipped", Map.of());
    String scope = plain;
    client
        .namespaces()
        .withName(plain)
        .edit(
            n -> {
              n.getMetadata().getLabels().put(SCOPE_LABEL, scope);
              return n;
            });
    enabled =
        cluster.createNamespace(
            "shipped-enabled", Map.of(SCOPE_LABEL, scope, "migrate.io/gate", "enabled"));
    enforced =
        cluster.createNamespace(
            "shipped-enforced", Map.of(SCOPE_LABEL, scope, "migrate.io/gate", "enforced"));
    // No webhook entry covers it: its pods start as during an outage of a fail-open entry.
    unlabelled = cluster.createNamespace("shipped-none", Map.of());

    owners =
        KubernetesOwnerLookup.start(
            Config.fromKubeconfig(Files.readString(cluster.kubeconfig())), Duration.ofSeconds(2));
    CertificateAuthority ca = CertificateAuthority.generate("shipped-test-ca", Duration.ofDays(1));
    InjectionConfig config =
        InjectionConfig.defaults(WAITER_IMAGE, "migrate-gate")
            .withWaitEndpoint(Optional.of(new WaitEndpoint(WAIT_URL, ca.certificatePem())));
    AdmissionReviewer reviewer = new PodAdmissionReviewer(config, owners);
    IssuedCertificate leaf =
        ca.issueServing(List.of("localhost"), List.of("127.0.0.1"), Duration.ofDays(1));
    server = HttpsServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    server.setHttpsConfigurator(new HttpsConfigurator(AdmissionClusterTest.sslContext(leaf)));
    server.createContext("/mutate", exchange -> AdmissionClusterTest.answer(exchange, reviewer));
    executor = Executors.newFixedThreadPool(4);
    server.setExecutor(executor);
    server.start();

    configuration = "migrate-gate-test-" + scope;
    client
        .admissionRegistration()
        .v1()
        .mutatingWebhookConfigurations()
        .resource(
            shipped(
                configuration,
                "https://127.0.0.1:" + server.getAddress().getPort(),
                ca.certificatePem(),
                scope))
        .create();
    Pod probe = pod("probe", Map.of(GateAnnotations.JOB, "migrate"), Map.of());
    PodWebhook.awaitCalled(client, plain, probe, ShippedWebhookClusterTest::hasWaitFirst, DEADLINE);
  }

  /**
   * manifests/base's configuration, pointed at {@code base} (each entry keeps its path) and limited
   * to this test's scope.
   */
  private static MutatingWebhookConfiguration shipped(
      String name, String base, String caPem, String scope) throws Exception {
    Path file =
        Path.of(System.getProperty("migrategate.projectRoot", ".."))
            .resolve("manifests/base/mutatingwebhookconfiguration.yaml");
    MutatingWebhookConfiguration shipped;
    try (InputStream in = Files.newInputStream(file)) {
      shipped = SERIALIZATION.unmarshal(in, MutatingWebhookConfiguration.class);
    }
    shipped.getMetadata().setName(name);
    for (MutatingWebhook webhook : shipped.getWebhooks()) {
      webhook.setClientConfig(
          new WebhookClientConfigBuilder()
              .withUrl(base + webhook.getClientConfig().getService().getPath())
              .withCaBundle(
                  Base64.getEncoder().encodeToString(caPem.getBytes(StandardCharsets.US_ASCII)))
              .build());
      webhook
          .getNamespaceSelector()
          .getMatchExpressions()
          .add(
              new LabelSelectorRequirementBuilder()
                  .withKey(SCOPE_LABEL)
                  .withOperator("In")
                  .withValues(scope)
                  .build());
    }
    return shipped;
  }

  @AfterAll
  static void unregister(LocalCluster cluster) {
    KubernetesClient client = cluster.client();
    if (configuration != null) {
      client
          .admissionRegistration()
          .v1()
          .mutatingWebhookConfigurations()
          .withName(configuration)
          .delete();
    }
    if (server != null) {
      server.stop(0);
      executor.shutdownNow();
    }
    if (owners != null) {
      owners.close();
    }
    for (String namespace : new String[] {plain, enabled, enforced, unlabelled}) {
      if (namespace != null) {
        client.namespaces().withName(namespace).delete();
      }
    }
  }

  /** Item 2b: the objectSelector on app.kubernetes.io/name exempted such pods everywhere. */
  @Test
  void aPodLabelledAsTheGatesOwnIsGatedInAnAppNamespace(KubernetesClient client) {
    Pod stored =
        client
            .pods()
            .inNamespace(plain)
            .resource(
                pod(
                    "labelled",
                    Map.of(GateAnnotations.JOB, "migrate"),
                    Map.of("app.kubernetes.io/name", "migrate-gate")))
            .create();
    assertTrue(hasWaitFirst(stored), "migrate-wait injected: " + stored.getSpec());
    assertEquals(
        GateAnnotations.STATUS_INJECTED,
        stored.getMetadata().getAnnotations().get(GateAnnotations.STATUS));
  }

  /** Item 2c: {@code migrate.io/inject: "false"} took a pod out of an enforced namespace. */
  @Test
  void optingOutIsDeniedWhereTheNamespaceEnforcesGating(KubernetesClient client) {
    Map<String, String> optOut = Map.of(GateAnnotations.INJECT, "false");
    Map<String, String> annotatedOptOut =
        Map.of(GateAnnotations.JOB, "migrate", GateAnnotations.INJECT, "false");
    create(client, enforced, AdmissionClusterTest.deployment("opt-out", Map.of(), optOut));
    create(
        client, enforced, AdmissionClusterTest.deployment("annotated", Map.of(), annotatedOptOut));
    // On the workload's own metadata: its pods carry no annotation, the gate finds the opt-out.
    create(
        client,
        enforced,
        AdmissionClusterTest.deployment("on-workload", annotatedOptOut, Map.of()));
    create(client, enabled, AdmissionClusterTest.deployment("opt-out", Map.of(), optOut));

    for (String deployment : List.of("opt-out", "annotated", "on-workload")) {
      LocalCluster.await(
          "FailedCreate of " + enforced + "/" + deployment + " saying the namespace enforces",
          DEADLINE,
          () ->
              failedCreates(client, enforced).stream()
                  .anyMatch(
                      m ->
                          m.contains("workload-pods-enforced")
                              && m.contains("enforces gating")
                              && m.contains("/" + deployment + "-")));
      assertEquals(List.of(), podsOf(client, enforced, deployment), "no pod was created");
    }
    // Where the namespace only says enabled, opting out stays a pod's choice: never sent.
    Pod honoured = awaitPod(client, enabled, "opt-out");
    assertNull(honoured.getMetadata().getAnnotations().get(GateAnnotations.STATUS));
  }

  /** Item 2a: any container named migrate-wait made the gate skip the pod. */
  @Test
  void aContainerNamedMigrateWaitThatIsNotTheGatesIsDenied(KubernetesClient client) {
    Pod impostor =
        new PodBuilder(
                pod(
                    "impostor",
                    Map.of(
                        GateAnnotations.JOB,
                        "migrate",
                        GateAnnotations.STATUS,
                        GateAnnotations.STATUS_INJECTED),
                    Map.of()))
            .editSpec()
            .addToInitContainers(
                new ContainerBuilder()
                    .withName(WaiterContainer.NAME)
                    .withImage("busybox:1.36")
                    .withCommand("sh", "-c", "true")
                    .build())
            .endSpec()
            .build();
    KubernetesClientException denied =
        assertThrows(
            KubernetesClientException.class,
            () -> client.pods().inNamespace(plain).resource(impostor).create());
    assertTrue(
        denied.getMessage().contains("reserved for the gate")
            && denied.getMessage().contains("busybox:1.36"),
        denied.getMessage());
  }

  /**
   * The gate's own container is still recognized once the API server has defaulted it, and in a pod
   * re-created from a stored one (to which the ServiceAccount admission plugin adds its token
   * mount): the rule tolerates exactly that.
   */
  @Test
  void aPodReCreatedFromItsStoredCopyKeepsTheGatesWaiter(KubernetesClient client) {
    Pod original =
        client
            .pods()
            .inNamespace(plain)
            .resource(pod("original", Map.of(GateAnnotations.JOB, "migrate"), Map.of()))
            .create();
    assertTrue(hasWaitFirst(original));
    ObjectMeta metadata =
        new ObjectMetaBuilder()
            .withName("copy")
            .withLabels(original.getMetadata().getLabels())
            .withAnnotations(original.getMetadata().getAnnotations())
            .build();
    Pod copy = new PodBuilder().withMetadata(metadata).withSpec(original.getSpec()).build();
    copy.getSpec().setNodeName(null);
    Pod stored = client.pods().inNamespace(plain).resource(copy).create();
    List<Container> init = stored.getSpec().getInitContainers();
    assertEquals(1, init.size(), "no second waiter: " + init);
    Container before = original.getSpec().getInitContainers().get(0);
    Container after = init.get(0);
    assertEquals(before.getImage(), after.getImage());
    assertEquals(before.getEnv(), after.getEnv());
    assertEquals(
        GateAnnotations.STATUS_INJECTED,
        stored.getMetadata().getAnnotations().get(GateAnnotations.STATUS));
  }

  /**
   * Item 8: a mirror pod (the API server's copy of a static pod) was injected with a projected
   * token, which the API server forbids for mirror pods: the static pod ran, invisible in the API.
   */
  @Test
  void aMirrorPodIsSkippedNotHidden(LocalCluster cluster, KubernetesClient client) {
    Pod mirror =
        new PodBuilder()
            .withNewMetadata()
            .withName("static-web-" + cluster.nodeName())
            .addToAnnotations(GateAnnotations.JOB, "migrate")
            .addToAnnotations(PodView.MIRROR_ANNOTATION, "0123456789abcdef0123456789abcdef")
            .addToAnnotations("kubernetes.io/config.source", "file")
            .endMetadata()
            .withNewSpec()
            .withNodeName(cluster.nodeName())
            .withContainers(
                new ContainerBuilder().withName("web").withImage("registry.example/web:1").build())
            .endSpec()
            .build();
    Pod stored = client.pods().inNamespace(plain).resource(mirror).create();
    assertTrue(stored.getSpec().getInitContainers().isEmpty(), "nothing injected");
    assertEquals(
        GateAnnotations.statusSkipped(Reasons.MIRROR_POD),
        stored.getMetadata().getAnnotations().get(GateAnnotations.STATUS));
  }

  /**
   * Item 2a, the audit: a pod the gate never saw (here: no webhook entry covers its namespace, as
   * during an outage of a fail-open entry) is reported despite a client-written {@code injected} or
   * {@code skipped: job-succeeded} (its Job suspended, so it had not succeeded), while a pod the
   * gate really injected is not.
   */
  @Test
  void theAuditTrustsAStatusOnlyWithTheGatesWaiterOrAJobThatHadSucceeded(KubernetesClient client) {
    create(
        client,
        enabled,
        AdmissionClusterTest.deployment(
            "gated", Map.of(GateAnnotations.JOB, "web-migrate"), Map.of()));
    create(
        client,
        unlabelled,
        AdmissionClusterTest.deployment(
            "forged",
            Map.of(GateAnnotations.JOB, "web-migrate"),
            Map.of(GateAnnotations.STATUS, GateAnnotations.STATUS_INJECTED)));
    client
        .batch()
        .v1()
        .jobs()
        .inNamespace(unlabelled)
        .resource(
            new JobBuilder()
                .withNewMetadata()
                .withName("api-migrate")
                .endMetadata()
                .withNewSpec()
                .withSuspend(true)
                .withNewTemplate()
                .withSpec(
                    new PodSpecBuilder(AdmissionClusterTest.restrictedSpec())
                        .withRestartPolicy("Never")
                        .build())
                .endTemplate()
                .endSpec()
                .build())
        .create();
    create(
        client,
        unlabelled,
        AdmissionClusterTest.deployment(
            "forged-skip",
            Map.of(GateAnnotations.JOB, "api-migrate"),
            Map.of(GateAnnotations.STATUS, GateAnnotations.statusSkipped(Reasons.JOB_SUCCEEDED))));
    Pod gated = awaitPod(client, enabled, "gated");
    assertTrue(hasWaitFirst(gated), "the gate injected Deployment gated's pod");
    awaitPod(client, unlabelled, "forged");
    awaitPod(client, unlabelled, "forged-skip");

    try {
      assertOnlyTheForgedPodsAreReported(client);
    } finally {
      removeUngatedPods(client);
    }
  }

  private static void assertOnlyTheForgedPodsAreReported(KubernetesClient client) {
    Set<String> audited = Set.of(enabled, unlabelled);
    UngatedPodAuditor auditor =
        new UngatedPodAuditor(client, owners, namespace -> !audited.contains(namespace));
    LocalCluster.await(
        "the audit finds the two pods with a forged status",
        DEADLINE,
        () -> auditOnce(auditor) == 2);
    List<Event> events = new ArrayList<>();
    for (String namespace : audited) {
      client.v1().events().inNamespace(namespace).list().getItems().stream()
          .filter(e -> UngatedPodAuditor.EVENT_REASON.equals(e.getReason()))
          .forEach(events::add);
    }
    assertEquals(
        Set.of("forged", "forged-skip"),
        events.stream().map(e -> e.getInvolvedObject().getName()).collect(Collectors.toSet()),
        "reported: " + events.stream().map(Event::getMessage).toList());
    assertTrue(
        events.stream()
            .anyMatch(e -> e.getMessage().contains("says \"injected\" but it has no migrate-wait")),
        events.stream().map(Event::getMessage).toList().toString());
    assertTrue(
        events.stream()
            .anyMatch(
                e ->
                    e.getMessage()
                        .contains("says \"skipped: job-succeeded\", but Job api-migrate")),
        events.stream().map(Event::getMessage).toList().toString());
  }

  /**
   * Removes the un-gated pods at once (not only with the namespace, later): any gate's audit in
   * this JVM looks at every namespace with annotated workloads and would report them too.
   */
  private static void removeUngatedPods(KubernetesClient client) {
    client.apps().deployments().inNamespace(unlabelled).delete();
    client.pods().inNamespace(unlabelled).withGracePeriod(0).delete();
    LocalCluster.await(
        "the un-gated pods of " + unlabelled + " deleted",
        DEADLINE,
        () -> client.pods().inNamespace(unlabelled).list().getItems().isEmpty());
  }

  private static int auditOnce(UngatedPodAuditor auditor) {
    try {
      return auditor.auditOnce();
    } catch (RuntimeException e) {
      return -1;
    }
  }

  private static Pod pod(String name, Map<String, String> annotations, Map<String, String> labels) {
    return new PodBuilder()
        .withNewMetadata()
        .withName(name)
        .withAnnotations(annotations)
        .withLabels(labels)
        .endMetadata()
        .withSpec(AdmissionClusterTest.restrictedSpec())
        .build();
  }

  private static boolean hasWaitFirst(Pod pod) {
    List<Container> init = pod.getSpec().getInitContainers();
    return !init.isEmpty() && WaiterContainer.NAME.equals(init.get(0).getName());
  }

  private static void create(KubernetesClient client, String namespace, Deployment deployment) {
    client.apps().deployments().inNamespace(namespace).resource(deployment).create();
  }

  private static List<Pod> podsOf(KubernetesClient client, String namespace, String app) {
    return client.pods().inNamespace(namespace).withLabel("app", app).list().getItems();
  }

  private static Pod awaitPod(KubernetesClient client, String namespace, String app) {
    LocalCluster.await(
        "a pod of " + namespace + "/" + app,
        DEADLINE,
        () -> !podsOf(client, namespace, app).isEmpty());
    return podsOf(client, namespace, app).get(0);
  }

  private static List<String> failedCreates(KubernetesClient client, String namespace) {
    return client.v1().events().inNamespace(namespace).list().getItems().stream()
        .filter(e -> "FailedCreate".equals(e.getReason()))
        .map(Event::getMessage)
        .toList();
  }
}
