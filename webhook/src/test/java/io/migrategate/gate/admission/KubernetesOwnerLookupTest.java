package io.migrategate.gate.admission;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fabric8.kubernetes.api.model.apps.ReplicaSet;
import io.fabric8.kubernetes.api.model.apps.ReplicaSetBuilder;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.ConfigBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.vertx.core.Vertx;
import java.net.ServerSocket;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

/**
 * Direct GETs and failure modes against fabric8's mock server. Answers from the informer caches are
 * tested against the real API server ({@code KubernetesOwnerLookupClusterTest}): the mock server
 * cannot always close the informers' held watch connections at teardown.
 */
class KubernetesOwnerLookupTest {
  private static final Duration TIMEOUT = Duration.ofSeconds(2);

  static ReplicaSet replicaSet(String name, String uid) {
    return new ReplicaSetBuilder()
        .withNewMetadata()
        .withName(name)
        .withNamespace("shop")
        .withUid(uid)
        .withAnnotations(
            Map.of(
                "migrate.io/job", "migrate",
                "kubectl.kubernetes.io/last-applied-configuration", "{\"huge\":true}"))
        .addNewOwnerReference()
        .withApiVersion("apps/v1")
        .withKind("Deployment")
        .withName("web")
        .withUid("uid-web")
        .withController(true)
        .endOwnerReference()
        .endMetadata()
        .withNewSpec()
        .withNewSelector()
        .addToMatchLabels("app", "web")
        .endSelector()
        .withNewTemplate()
        .withNewMetadata()
        .addToLabels("app", "web")
        .endMetadata()
        .withNewSpec()
        .addNewContainer()
        .withName("app")
        .withImage("web:1")
        .endContainer()
        .endSpec()
        .endTemplate()
        .endSpec()
        .build();
  }

  static void await(String what, Duration timeout, java.util.function.BooleanSupplier condition)
      throws InterruptedException {
    Instant deadline = Instant.now().plus(timeout);
    while (!condition.getAsBoolean()) {
      if (Instant.now().isAfter(deadline)) {
        throw new AssertionError("timed out waiting for " + what);
      }
      Thread.sleep(20);
    }
  }

  @Nested
  @EnableKubernetesMockClient
  class FromApi {
    KubernetesMockServer server;
    KubernetesClient client;

    @Test
    void aCacheMissIsAskedDirectly() {
      // No list expectation: the caches never sync, every lookup is a GET.
      server
          .expect()
          .get()
          .withPath("/apis/apps/v1/namespaces/shop/replicasets/web-3")
          .andReturn(200, replicaSet("web-3", "uid-3"))
          .always();
      server
          .expect()
          .get()
          .withPath("/apis/apps/v1/namespaces/shop/statefulsets/db")
          .andReturn(403, "forbidden")
          .always();
      try (KubernetesOwnerLookup lookup =
          KubernetesOwnerLookup.start(client.getConfiguration(), TIMEOUT)) {
        assertInstanceOf(
            LookupResult.Found.class,
            lookup.lookup("shop", new OwnerRef("apps/v1", "ReplicaSet", "web-3", "uid-3", true)));
        assertInstanceOf(
            LookupResult.NotFound.class,
            lookup.lookup("shop", new OwnerRef("apps/v1", "ReplicaSet", "gone", "", true)));
        LookupResult.Failed forbidden =
            assertInstanceOf(
                LookupResult.Failed.class,
                lookup.lookup("shop", new OwnerRef("apps/v1", "StatefulSet", "db", "", true)));
        assertTrue(forbidden.cause().contains("get/list/watch"), forbidden.cause());
        assertEquals(3, lookup.stats().apiGets());
      }
    }

    @Test
    void onAnEventLoopACacheMissAsksForAWorkerInsteadOfBlocking() throws Exception {
      server
          .expect()
          .get()
          .withPath("/apis/apps/v1/namespaces/shop/replicasets/web-4")
          .andReturn(200, replicaSet("web-4", "uid-4"))
          .always();
      Vertx vertx = Vertx.vertx();
      try (KubernetesOwnerLookup lookup =
          KubernetesOwnerLookup.start(client.getConfiguration(), TIMEOUT)) {
        OwnerRef owner = new OwnerRef("apps/v1", "ReplicaSet", "web-4", "uid-4", true);
        CompletableFuture<Object> onLoop = new CompletableFuture<>();
        vertx.runOnContext(
            ignored -> {
              try {
                onLoop.complete(lookup.lookup("shop", owner));
              } catch (RuntimeException e) {
                onLoop.complete(e);
              }
            });
        WouldBlockException wouldBlock =
            assertInstanceOf(WouldBlockException.class, onLoop.get(10, TimeUnit.SECONDS));
        assertTrue(
            wouldBlock.getMessage().contains("ReplicaSet shop/web-4"), wouldBlock.getMessage());
        assertEquals(0, lookup.stats().apiGets(), "no GET from the event loop");

        CompletableFuture<LookupResult> onWorker =
            vertx
                .executeBlocking(() -> lookup.lookup("shop", owner))
                .toCompletionStage()
                .toCompletableFuture();
        assertInstanceOf(LookupResult.Found.class, onWorker.get(10, TimeUnit.SECONDS));
        assertEquals(1, lookup.stats().apiGets());
      } finally {
        vertx.close().await();
      }
    }
  }

  @Test
  void anUnreachableApiServerFailsFastInsteadOfHanging() throws Exception {
    int closedPort;
    try (ServerSocket socket = new ServerSocket(0)) {
      closedPort = socket.getLocalPort();
    }
    Config config =
        new ConfigBuilder(Config.empty())
            .withMasterUrl("https://127.0.0.1:" + closedPort)
            .withTrustCerts(true)
            .build();
    try (KubernetesOwnerLookup lookup = KubernetesOwnerLookup.start(config, TIMEOUT)) {
      Instant start = Instant.now();
      LookupResult result =
          lookup.lookup("shop", new OwnerRef("apps/v1", "ReplicaSet", "web-4", "uid-4", true));
      Duration took = Duration.between(start, Instant.now());
      assertInstanceOf(LookupResult.Failed.class, result);
      assertTrue(took.compareTo(TIMEOUT.plusSeconds(1)) < 0, "took " + took);
      assertTrue(!lookup.hasSynced());
    }
  }
}
