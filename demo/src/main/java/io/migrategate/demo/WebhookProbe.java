package io.migrategate.demo;

import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.ConfigBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Proves the path API server -> webhook configuration -> gate works before the scenario begins: the
 * API server picks up a new caBundle (or a new gate) asynchronously, and until it calls the gate
 * successfully, workload pods (failurePolicy Ignore) would start without migrate-wait.
 */
final class WebhookProbe {
  private WebhookProbe() {}

  static void await(KubernetesClient client, String namespace, LiveView view) {
    Pod probe = ShopScenario.probePod();
    // No request retries: a webhook failure is an HTTP 500 the client would retry for a minute.
    AtomicReference<String> lastError = new AtomicReference<>();
    try (KubernetesClient once =
        new KubernetesClientBuilder()
            .withConfig(
                new ConfigBuilder(client.getConfiguration())
                    .withRequestRetryBackoffLimit(0)
                    .build())
            .build()) {
      Waits.until(
          "the API server calling the gate for a dry-run pod in namespace " + namespace,
          Duration.ofSeconds(60),
          () -> {
            Pod answer;
            try {
              answer = once.pods().inNamespace(namespace).resource(probe).dryRun().create();
            } catch (RuntimeException e) {
              return false;
            }
            Map<String, String> annotations = answer.getMetadata().getAnnotations();
            return annotations != null && annotations.containsKey(ShopScenario.STATUS);
          },
          timedOut ->
              new SetupException(
                  timedOut
                      + Optional.ofNullable(lastError.get())
                          .map(error -> "; the API server answered: " + error)
                          .orElse("")));
    }
    view.ok(
        "the API server calls the gate: a dry-run pod came back with migrate.io/status and"
            + " migrate-wait");
  }
}
