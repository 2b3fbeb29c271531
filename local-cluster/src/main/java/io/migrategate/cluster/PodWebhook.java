package io.migrategate.cluster;

import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.MutatingWebhookConfiguration;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.MutatingWebhookConfigurationBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.Map;
import java.util.Objects;
import java.util.function.Predicate;

/**
 * A mutating webhook for pod CREATEs that a test registers with the local API server: one entry
 * calling an HTTPS endpoint (usually on this host), for the namespaces matching some labels, with
 * failure policy Fail, so that a TLS or endpoint error fails the pod's creation instead of letting
 * it pass unreviewed. Closing deletes the configuration.
 */
public final class PodWebhook implements AutoCloseable {
  private final KubernetesClient client;
  private final String name;

  private PodWebhook(KubernetesClient client, String name) {
    this.client = client;
    this.name = name;
  }

  /**
   * Creates the MutatingWebhookConfiguration {@code name}.
   *
   * @param url the endpoint, e.g. {@code https://127.0.0.1:8443/mutate}
   * @param caPem the PEM CA certificate(s) the API server trusts for it
   * @param namespaceLabels the labels selecting the namespaces whose pods it reviews
   */
  public static PodWebhook register(
      KubernetesClient client,
      String name,
      String url,
      String caPem,
      Map<String, String> namespaceLabels) {
    MutatingWebhookConfiguration configuration =
        new MutatingWebhookConfigurationBuilder()
            .withNewMetadata()
            .withName(name)
            .endMetadata()
            .addNewWebhook()
            .withName("pods.migrate-gate.test")
            .withNewClientConfig()
            .withUrl(url)
            .withCaBundle(
                Base64.getEncoder().encodeToString(caPem.getBytes(StandardCharsets.US_ASCII)))
            .endClientConfig()
            .addNewRule()
            .withOperations("CREATE")
            .withApiGroups("")
            .withApiVersions("v1")
            .withResources("pods")
            .withScope("Namespaced")
            .endRule()
            .withAdmissionReviewVersions("v1")
            .withSideEffects("None")
            .withFailurePolicy("Fail")
            .withReinvocationPolicy("IfNeeded")
            .withTimeoutSeconds(5)
            .withNewNamespaceSelector()
            .addToMatchLabels(namespaceLabels)
            .endNamespaceSelector()
            .endWebhook()
            .build();
    client
        .admissionRegistration()
        .v1()
        .mutatingWebhookConfigurations()
        .resource(configuration)
        .create();
    return new PodWebhook(client, name);
  }

  public String name() {
    return name;
  }

  /**
   * Waits until the API server calls a webhook for pods of {@code namespace}: it loads webhook
   * configurations through its own informer, a moment after they are written, and a pod created
   * before that is not reviewed at all. Probes with dry-run creates of {@code probe} (nothing is
   * stored) until the returned pod shows the webhook's work; a failed probe's exception becomes the
   * timeout's cause.
   */
  public static void awaitCalled(
      KubernetesClient client,
      String namespace,
      Pod probe,
      Predicate<Pod> reviewed,
      Duration timeout) {
    Objects.requireNonNull(reviewed, "reviewed");
    LocalCluster.await(
        "the API server calls the webhook for a dry-run pod in " + namespace,
        timeout,
        () ->
            reviewed.test(client.pods().inNamespace(namespace).resource(probe).dryRun().create()));
  }

  @Override
  public void close() {
    client.admissionRegistration().v1().mutatingWebhookConfigurations().withName(name).delete();
  }
}
