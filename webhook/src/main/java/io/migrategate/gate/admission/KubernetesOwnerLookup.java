package io.migrategate.gate.admission;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.ObjectMeta;
import io.fabric8.kubernetes.api.model.apps.DaemonSet;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.ReplicaSet;
import io.fabric8.kubernetes.api.model.apps.StatefulSet;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import io.fabric8.kubernetes.client.informers.cache.Cache;
import io.migrategate.core.Durations;
import io.migrategate.gate.kube.FatalErrors;
import io.migrategate.gate.kube.KubernetesClients;
import io.vertx.core.Context;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Owner lookups from cluster-wide informer caches of ReplicaSets, Deployments, StatefulSets and
 * DaemonSets (compact: {@link CompactMetadataStore}), with a direct GET on a miss: a ReplicaSet is
 * often created a moment before its first pod, faster than the watch delivers it.
 *
 * <p>Starting never waits for the API server: informers keep retrying in the background and lookups
 * fall back to GETs, which fail fast (one attempt, bounded by the lookup timeout) when the API
 * server is unreachable. Needs RBAC: get, list, watch on those four resources.
 */
public final class KubernetesOwnerLookup implements OwnerLookup, AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(KubernetesOwnerLookup.class);

  /**
   * Bound of one direct GET. A Deployment's pod may need two (ReplicaSet, then Deployment), and
   * both must fit in the webhook's {@code timeoutSeconds} (5 s in the shipped configuration) with
   * room for the reply.
   */
  public static final String DEFAULT_LOOKUP_TIMEOUT_TEXT = "1500ms";

  public static final Duration DEFAULT_LOOKUP_TIMEOUT =
      Durations.parse(DEFAULT_LOOKUP_TIMEOUT_TEXT);

  private final KubernetesClient watchClient;
  private final KubernetesClient getClient;
  private final Map<String, Kind<?>> kinds = new LinkedHashMap<>();
  private final LongAdder cacheHits = new LongAdder();
  private final LongAdder apiGets = new LongAdder();
  private final LongAdder failures = new LongAdder();

  private KubernetesOwnerLookup(Config config, Duration lookupTimeout) {
    // Lookups are answered within the admission deadline or not at all: one attempt, short
    // timeouts. The workload controller retries a denied pod; the gate does not retry for it.
    this.getClient = KubernetesClients.oneAttempt(config, lookupTimeout);
    this.watchClient = KubernetesClients.withoutRetries(config);
    register("apps", "ReplicaSet", ReplicaSet.class, ReplicaSet::new);
    register("apps", "Deployment", Deployment.class, Deployment::new);
    register("apps", "StatefulSet", StatefulSet.class, StatefulSet::new);
    register("apps", "DaemonSet", DaemonSet.class, DaemonSet::new);
  }

  /**
   * Starts the informers and returns at once.
   *
   * @param config how to reach the API server (the gate's in-cluster or kubeconfig settings)
   * @param lookupTimeout bound of one direct GET; keep it well under the webhook's timeoutSeconds
   */
  public static KubernetesOwnerLookup start(Config config, Duration lookupTimeout) {
    KubernetesOwnerLookup lookup = new KubernetesOwnerLookup(config, lookupTimeout);
    lookup.kinds.values().forEach(Kind::start);
    return lookup;
  }

  /** Whether every cache has completed its first list (a readiness signal, not a requirement). */
  public boolean hasSynced() {
    return kinds.values().stream().allMatch(kind -> kind.informer.hasSynced());
  }

  /**
   * Namespaces in which a cached workload carries {@code migrate.io/job} on its own metadata: the
   * only places where a pod can be gated by an annotation it does not carry itself.
   */
  public Set<String> namespacesWithAnnotatedWorkloads() {
    Set<String> namespaces = new TreeSet<>();
    for (Kind<?> kind : kinds.values()) {
      for (HasMetadata object : kind.informer.getStore().list()) {
        Map<String, String> annotations = object.getMetadata().getAnnotations();
        if (annotations != null && annotations.containsKey(GateAnnotations.JOB)) {
          namespaces.add(object.getMetadata().getNamespace());
        }
      }
    }
    return namespaces;
  }

  /** Counters since start, for metrics. */
  public Stats stats() {
    return new Stats(cacheHits.sum(), apiGets.sum(), failures.sum());
  }

  /**
   * @param cacheHits lookups answered from an informer cache
   * @param apiGets lookups that asked the API server
   * @param failures lookups that could not be made
   */
  public record Stats(long cacheHits, long apiGets, long failures) {}

  @Override
  public LookupResult lookup(String namespace, OwnerRef owner) {
    return lookup(namespace, owner, true);
  }

  @Override
  public LookupResult lookupFresh(String namespace, OwnerRef owner) {
    return lookup(namespace, owner, false);
  }

  private LookupResult lookup(String namespace, OwnerRef owner, boolean fromCache) {
    Kind<?> kind = kinds.get(owner.group() + "/" + owner.kind());
    if (kind == null) {
      return new LookupResult.Failed("the gate does not read " + owner.kind() + " objects");
    }
    if (fromCache) {
      HasMetadata cached =
          kind.informer.getStore().getByKey(Cache.namespaceKeyFunc(namespace, owner.name()));
      if (cached != null && sameObject(owner, cached)) {
        cacheHits.increment();
        return found(cached);
      }
    }
    if (Context.isOnEventLoopThread()) {
      // The caller answers from the caches on the event loop and retries on a worker otherwise.
      throw new WouldBlockException("GET " + owner.kind() + " " + namespace + "/" + owner.name());
    }
    apiGets.increment();
    try {
      HasMetadata live = kind.get(namespace, owner.name());
      if (live == null || !sameObject(owner, live)) {
        return new LookupResult.NotFound();
      }
      return found(live);
    } catch (KubernetesClientException e) {
      failures.increment();
      return new LookupResult.Failed(describe(e));
    } catch (RuntimeException e) {
      failures.increment();
      return new LookupResult.Failed(e.toString());
    }
  }

  @Override
  public void close() {
    kinds.values().forEach(kind -> kind.informer.stop());
    watchClient.close();
    getClient.close();
  }

  /** A cached object whose uid differs is a newer object that reuses the owner's name. */
  private static boolean sameObject(OwnerRef owner, HasMetadata object) {
    return owner.uid().isEmpty() || owner.uid().equals(object.getMetadata().getUid());
  }

  private static LookupResult found(HasMetadata object) {
    ObjectMeta metadata = object.getMetadata();
    Map<String, String> annotations = new LinkedHashMap<>();
    if (metadata.getAnnotations() != null) {
      // Only the gate's own: the same answer whether it came from the compact cache or a GET.
      metadata.getAnnotations().entrySet().stream()
          .filter(e -> GateAnnotations.keptOnOwners(e.getKey()))
          .forEach(e -> annotations.put(e.getKey(), e.getValue()));
    }
    List<OwnerRef> owners =
        metadata.getOwnerReferences() == null
            ? List.of()
            : metadata.getOwnerReferences().stream()
                .map(
                    o ->
                        new OwnerRef(
                            o.getApiVersion(),
                            o.getKind(),
                            o.getName(),
                            o.getUid(),
                            Boolean.TRUE.equals(o.getController())))
                .toList();
    return new LookupResult.Found(annotations, owners);
  }

  private static String describe(KubernetesClientException e) {
    if (e.getCode() == 403) {
      return "forbidden: the gate's ServiceAccount needs get/list/watch on this resource";
    }
    Throwable root = e;
    while (root.getCause() != null) {
      root = root.getCause();
    }
    String message =
        root.getMessage() == null ? root.getClass().getSimpleName() : root.getMessage();
    return e.getCode() > 0 ? "HTTP " + e.getCode() + ": " + message : message;
  }

  private <T extends HasMetadata> void register(
      String group, String kindName, Class<T> type, Supplier<T> factory) {
    kinds.put(group + "/" + kindName, new Kind<>(kindName, type, factory));
  }

  /** One cached resource type. */
  private final class Kind<T extends HasMetadata> {
    final String name;
    final Class<T> type;
    final SharedIndexInformer<T> informer;
    final AtomicBoolean failing = new AtomicBoolean();

    Kind(String name, Class<T> type, Supplier<T> factory) {
      this.name = name;
      this.type = type;
      this.informer =
          watchClient
              .resources(type)
              .inAnyNamespace()
              .withLimit(KubernetesClients.LIST_PAGE)
              .runnableInformer(0);
      informer.itemStore(new CompactMetadataStore<>(factory));
      informer.exceptionHandler(
          FatalErrors.retryOthers(
              "owner cache " + name,
              failing,
              error ->
                  LOG.warn(
                      "owner cache kind={} state=retrying cause=\"{}\"",
                      name,
                      error.getMessage())));
    }

    void start() {
      informer
          .start()
          .whenComplete(
              (ok, error) -> {
                if (error == null) {
                  failing.set(false);
                  LOG.info(
                      "owner cache kind={} state=synced items={}",
                      name,
                      informer.getStore().listKeys().size());
                }
              });
    }

    HasMetadata get(String namespace, String objectName) {
      return getClient.resources(type).inNamespace(namespace).withName(objectName).get();
    }
  }
}
