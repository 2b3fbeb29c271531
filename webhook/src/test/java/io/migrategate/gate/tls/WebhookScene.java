package io.migrategate.gate.tls;

import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.MutatingWebhook;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.MutatingWebhookBuilder;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.MutatingWebhookConfiguration;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.MutatingWebhookConfigurationBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.migrategate.certs.CaBundle;
import io.migrategate.cluster.LocalCluster;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * The cluster side of a TLS test: the gate's namespace, a namespace whose pods the test webhook
 * mutates, and the MutatingWebhookConfiguration (two entries, no caBundle, as the manifests ship
 * it) pointing at a {@link TestWebhookEndpoint} on 127.0.0.1.
 */
final class WebhookScene implements AutoCloseable {
  static final String CA_SECRET = "migrate-gate-ca";

  final LocalCluster cluster;
  final KubernetesClient admin;
  final String gateNamespace;
  final String podNamespace;
  final String webhookConfigurationName;

  WebhookScene(LocalCluster cluster, String prefix) {
    this.cluster = cluster;
    this.admin = cluster.client();
    this.gateNamespace = cluster.createNamespace(prefix + "-gate", Map.of());
    this.podNamespace = cluster.createNamespace(prefix + "-pods", Map.of());
    this.webhookConfigurationName = "migrate-gate-" + gateNamespace;
  }

  /** Seconds-scale lifetimes, this scene's names, the test endpoint's address. */
  SelfManagedTlsConfig config(
      Duration caValidity, Duration servingValidity, Duration trustPropagationDelay) {
    return SelfManagedTlsConfig.defaults(gateNamespace, List.of(), List.of("127.0.0.1"))
        .withCaSecretName(CA_SECRET)
        .withWebhookConfigurationName(webhookConfigurationName)
        .withTiming(
            caValidity,
            servingValidity,
            trustPropagationDelay,
            Duration.ZERO,
            Duration.ofSeconds(5));
  }

  /**
   * Creates the webhook configuration: entry 0 mutates every pod of the pod namespace, entry 1
   * (same endpoint) only pods labelled {@code selftls.test/second=true}; both must get the
   * caBundle. Failure policy Fail: any TLS error fails the pod creation.
   */
  void createWebhookConfiguration(String url, String caBundleOrNull) {
    MutatingWebhookConfiguration configuration =
        new MutatingWebhookConfigurationBuilder()
            .withNewMetadata()
            .withName(webhookConfigurationName)
            .endMetadata()
            .withWebhooks(
                webhook("pods.selftls.migrate-gate.test", url, caBundleOrNull, false),
                webhook("second.selftls.migrate-gate.test", url, caBundleOrNull, true))
            .build();
    admin
        .admissionRegistration()
        .v1()
        .mutatingWebhookConfigurations()
        .resource(configuration)
        .create();
  }

  private MutatingWebhook webhook(String name, String url, String caBundle, boolean second) {
    MutatingWebhookBuilder builder =
        new MutatingWebhookBuilder()
            .withName(name)
            .withNewClientConfig()
            .withUrl(url)
            .withCaBundle(caBundle)
            .endClientConfig()
            .addNewRule()
            .withOperations("CREATE")
            .withApiGroups("")
            .withApiVersions("v1")
            .withResources("pods")
            .endRule()
            .withNewNamespaceSelector()
            .addToMatchLabels("kubernetes.io/metadata.name", podNamespace)
            .endNamespaceSelector()
            .withFailurePolicy("Fail")
            .withSideEffects("None")
            .withAdmissionReviewVersions("v1")
            .withTimeoutSeconds(10);
    if (second) {
      builder
          .withNewObjectSelector()
          .addToMatchLabels("selftls.test/second", "true")
          .endObjectSelector();
    }
    return builder.build();
  }

  MutatingWebhookConfiguration webhookConfiguration() {
    return admin
        .admissionRegistration()
        .v1()
        .mutatingWebhookConfigurations()
        .withName(webhookConfigurationName)
        .get();
  }

  /** The CAs of each webhook entry's caBundle. */
  List<List<X509Certificate>> bundles() {
    return webhookConfiguration().getWebhooks().stream()
        .map(
            webhook ->
                webhook.getClientConfig().getCaBundle() == null
                    ? List.<X509Certificate>of()
                    : CaBundle.decode(webhook.getClientConfig().getCaBundle()))
        .toList();
  }

  /** Sets every entry's caBundle as an admin would (a GitOps revert), by JSON patch. */
  void setBundles(List<X509Certificate> cas) {
    String value = cas.isEmpty() ? null : CaBundle.encode(cas);
    StringBuilder patch = new StringBuilder("[");
    for (int i = 0; i < 2; i++) {
      if (i > 0) {
        patch.append(',');
      }
      patch.append(
          value == null
              ? "{\"op\":\"remove\",\"path\":\"/webhooks/" + i + "/clientConfig/caBundle\"}"
              : "{\"op\":\"add\",\"path\":\"/webhooks/"
                  + i
                  + "/clientConfig/caBundle\",\"value\":\""
                  + value
                  + "\"}");
    }
    patch.append(']');
    admin
        .admissionRegistration()
        .v1()
        .mutatingWebhookConfigurations()
        .withName(webhookConfigurationName)
        .patch(PatchContext.of(PatchType.JSON), patch.toString());
  }

  /**
   * Creates a pod in the pod namespace and returns it as stored. The pod carries a scheduling gate
   * so it is never scheduled: the shared cluster's fake node is not filled by this test.
   */
  static Pod createPod(KubernetesClient client, String namespace, String name) {
    return client.pods().inNamespace(namespace).resource(pod(name)).create();
  }

  /**
   * Waits until the API server calls the webhook under its current configuration: it loads webhook
   * configurations (and their caBundle) through its own informer, a moment after they were written.
   * Probes with dry-run creates, which store nothing.
   */
  void awaitApiServerCallsTheWebhook() {
    // A failed probe's exception becomes the timeout's cause.
    LocalCluster.await(
        "the API server calls the webhook",
        Duration.ofSeconds(60),
        () ->
            servedBy(
                    admin.pods().inNamespace(podNamespace).resource(pod("probe")).dryRun().create())
                != null);
  }

  private static Pod pod(String name) {
    return new PodBuilder()
        .withNewMetadata()
        .withName(name)
        .addToAnnotations("selftls.test/purpose", "admission through self-managed TLS")
        .endMetadata()
        .withNewSpec()
        .addNewSchedulingGate()
        .withName("selftls.test/never-schedule")
        .endSchedulingGate()
        .withNewSecurityContext()
        .withRunAsNonRoot(true)
        .withRunAsUser(65532L)
        .withNewSeccompProfile()
        .withType("RuntimeDefault")
        .endSeccompProfile()
        .endSecurityContext()
        .addNewContainer()
        .withName("app")
        .withImage("registry.example.com/selftls/app:1")
        .withNewSecurityContext()
        .withAllowPrivilegeEscalation(false)
        .withNewCapabilities()
        .withDrop("ALL")
        .endCapabilities()
        .endSecurityContext()
        .endContainer()
        .endSpec()
        .build();
  }

  Pod createPod(String name) {
    return createPod(admin, podNamespace, name);
  }

  static String servedBy(Pod pod) {
    Map<String, String> annotations = pod.getMetadata().getAnnotations();
    return annotations == null ? null : annotations.get(TestWebhookEndpoint.SERVED_BY);
  }

  @Override
  public void close() {
    admin
        .admissionRegistration()
        .v1()
        .mutatingWebhookConfigurations()
        .withName(webhookConfigurationName)
        .delete();
    admin.namespaces().withName(podNamespace).delete();
    admin.namespaces().withName(gateNamespace).delete();
  }
}
