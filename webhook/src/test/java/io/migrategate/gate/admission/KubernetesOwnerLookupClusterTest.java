package io.migrategate.gate.admission;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.api.model.OwnerReferenceBuilder;
import io.fabric8.kubernetes.api.model.apps.ReplicaSet;
import io.fabric8.kubernetes.api.model.apps.ReplicaSetBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.migrategate.cluster.LocalCluster;
import io.migrategate.cluster.LocalClusterTest;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Owner lookups answered from the informer caches of a real API server: only the gate's own
 * annotations are kept, and an object that reuses the owner's name is not the owner.
 */
@LocalClusterTest
class KubernetesOwnerLookupClusterTest {
  private static final Duration WAIT = Duration.ofSeconds(60);

  @Test
  void answersFromTheCacheKeepingOnlyGateAnnotationsAndNeverTakesANameReuse(LocalCluster cluster)
      throws Exception {
    KubernetesClient admin = cluster.client();
    String namespace = cluster.createNamespace("owner-cache", Map.of());
    // Any existing object will do as the owner (the garbage collector deletes dependents of a
    // missing one); a ConfigMap is not managed by any controller.
    ConfigMap owner =
        admin
            .resource(
                new ConfigMapBuilder()
                    .withNewMetadata()
                    .withName("web")
                    .withNamespace(namespace)
                    .endMetadata()
                    .build())
            .create();
    ReplicaSet created =
        admin.resource(replicaSet(namespace, "web-1", owner.getMetadata().getUid())).create();
    String uid = created.getMetadata().getUid();

    try (KubernetesOwnerLookup lookup =
        KubernetesOwnerLookup.start(admin.getConfiguration(), Duration.ofSeconds(2))) {
      LocalCluster.await("owner caches synced", WAIT, lookup::hasSynced);
      OwnerRef replicaSet = new OwnerRef("apps/v1", "ReplicaSet", "web-1", uid, true);
      LocalCluster.await(
          "ReplicaSet web-1 in the cache",
          WAIT,
          () -> lookup.lookup(namespace, replicaSet) instanceof LookupResult.Found);
      long getsBefore = lookup.stats().apiGets();

      LookupResult.Found found =
          assertInstanceOf(LookupResult.Found.class, lookup.lookup(namespace, replicaSet));
      assertEquals(Map.of("migrate.io/job", "migrate"), found.annotations());
      assertEquals("ConfigMap/web", found.ownerReferences().get(0).toString());
      assertEquals(owner.getMetadata().getUid(), found.ownerReferences().get(0).uid());
      assertTrue(found.ownerReferences().get(0).controller());
      assertEquals(getsBefore, lookup.stats().apiGets(), "answered from the cache, no GET");
      assertTrue(
          lookup.namespacesWithAnnotatedWorkloads().contains(namespace),
          "the cache knows where annotated workloads are");

      // Same name, another uid: a newer object, not the pod's owner.
      assertInstanceOf(
          LookupResult.NotFound.class,
          lookup.lookup(
              namespace, new OwnerRef("apps/v1", "ReplicaSet", "web-1", "uid-of-old", true)));
    }
  }

  /** The mock test's ReplicaSet, in {@code namespace}, owned by an existing object. */
  private static ReplicaSet replicaSet(String namespace, String name, String ownerUid) {
    return new ReplicaSetBuilder(KubernetesOwnerLookupTest.replicaSet(name, null))
        .editMetadata()
        .withNamespace(namespace)
        .withOwnerReferences(
            new OwnerReferenceBuilder()
                .withApiVersion("v1")
                .withKind("ConfigMap")
                .withName("web")
                .withUid(ownerUid)
                .withController(true)
                .build())
        .endMetadata()
        .editSpec()
        .withReplicas(0)
        .endSpec()
        .build();
  }
}
