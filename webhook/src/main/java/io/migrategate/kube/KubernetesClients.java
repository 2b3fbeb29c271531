package io.migrategate.kube;

import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.ConfigBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import java.time.Duration;

/**
 * The gate's fabric8 clients. fabric8's own request retries are always off: every caller has its
 * own policy (informers retry on their schedule, a review has a deadline, a check runs again), and
 * a retrying call would hide for a minute that the API server is gone.
 */
public final class KubernetesClients {
  private KubernetesClients() {}

  /** For informers and background work that retries on its own. */
  public static KubernetesClient withoutRetries(Config config) {
    return new KubernetesClientBuilder()
        .withConfig(new ConfigBuilder(config).withRequestRetryBackoffLimit(0).build())
        .build();
  }

  /**
   * For a call made within a deadline (an admission review, a health check): one attempt, its
   * connection and its request each bounded by {@code timeout}.
   */
  public static KubernetesClient oneAttempt(Config config, Duration timeout) {
    int millis = Math.toIntExact(timeout.toMillis());
    return new KubernetesClientBuilder()
        .withConfig(
            new ConfigBuilder(config)
                .withRequestTimeout(millis)
                .withConnectionTimeout(millis)
                .withRequestRetryBackoffLimit(0)
                .build())
        .build();
  }
}
