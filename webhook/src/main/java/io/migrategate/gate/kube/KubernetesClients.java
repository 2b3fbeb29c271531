package io.migrategate.gate.kube;

import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.ConfigBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import java.time.Duration;

/**
 * The gate's fabric8 clients. fabric8's own request retries are always off: every caller has its
 * own policy (informers retry on their schedule, a review has a deadline, a check runs again), and
 * a retrying call would hide for a minute that the API server is gone. Every request they send is
 * counted in {@link ApiRequests#PROCESS}.
 */
public final class KubernetesClients {
  /**
   * Items per page of an informer's list (client-go's pager uses the same). Unpaged, the first list
   * of a cluster-wide informer is one response held whole in memory before the compact stores see
   * an item: 20,000 Jobs with 4 KiB pod templates took the gate's heap past 384 MiB (issue 13).
   * Paged, one page at a time is.
   */
  public static final long LIST_PAGE = 500;

  private KubernetesClients() {}

  /** For informers and background work that retries on its own. */
  public static KubernetesClient withoutRetries(Config config) {
    return counted(new ConfigBuilder(config).withRequestRetryBackoffLimit(0).build());
  }

  /**
   * For a call made within a deadline (an admission review, a health check): one attempt, its
   * connection and its request each bounded by {@code timeout}.
   */
  public static KubernetesClient oneAttempt(Config config, Duration timeout) {
    int millis = Math.toIntExact(timeout.toMillis());
    return counted(
        new ConfigBuilder(config)
            .withRequestTimeout(millis)
            .withConnectionTimeout(millis)
            .withRequestRetryBackoffLimit(0)
            .build());
  }

  private static KubernetesClient counted(Config config) {
    return new KubernetesClientBuilder()
        .withConfig(config)
        .withHttpClientBuilderConsumer(
            builder ->
                builder.addOrReplaceInterceptor("migrate-gate-requests", ApiRequests.PROCESS))
        .build();
  }
}
