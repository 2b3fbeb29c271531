package io.migrategate.gate.waitapi;

import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import io.fabric8.kubernetes.client.informers.cache.Cache;
import io.fabric8.kubernetes.client.informers.cache.ItemStore;
import io.migrategate.gate.kube.FatalErrors;
import io.migrategate.gate.kube.KubernetesClients;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The cluster's pending pods, as far as a token's pod binding needs them: uid, ServiceAccount, and
 * whether the pod is being deleted. A waiting pod is pending (its init container migrate-wait is
 * running), so this one watch ({@code status.phase=Pending}, all namespaces) holds every pod that
 * may ask the wait API. A pod leaves it when it starts or is deleted (the API server sends a delete
 * when an object stops matching a watch's field selector).
 *
 * <p>Memory grows with the pods pending at one time (about 200 bytes each), not with the cluster's
 * pods. RBAC: list and watch on pods. Until the first list has completed (or while the watch
 * fails), {@link #find} answers null and tokens go to TokenReview.
 */
public final class PendingPods implements LocalTokenVerifier.LivePods, AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(PendingPods.class);

  private final SharedIndexInformer<Pod> informer;
  private final Store store = new Store();
  private final AtomicBoolean failing = new AtomicBoolean();

  private PendingPods(KubernetesClient watchClient) {
    this.informer =
        watchClient
            .pods()
            .inAnyNamespace()
            .withField("status.phase", "Pending")
            .withLimit(KubernetesClients.LIST_PAGE)
            .runnableInformer(0);
    informer.itemStore(store);
    informer.exceptionHandler(
        FatalErrors.retryOthers(
            "pending pod cache",
            failing,
            error ->
                LOG.warn(
                    "pending pod cache state=retrying cause=\"{}\" (waiter tokens go to"
                        + " TokenReview)",
                    error.getMessage())));
  }

  /** Starts the watch and returns at once. */
  public static PendingPods start(KubernetesClient watchClient) {
    PendingPods pods = new PendingPods(watchClient);
    pods.informer
        .start()
        .whenComplete(
            (ok, error) -> {
              if (error == null) {
                pods.failing.set(false);
                LOG.info("pending pod cache state=synced pods={}", pods.store.size());
              }
            });
    return pods;
  }

  @Override
  public LocalTokenVerifier.BoundPod find(String namespace, String name) {
    return informer.hasSynced() ? store.entries.get(Cache.namespaceKeyFunc(namespace, name)) : null;
  }

  @Override
  public int size() {
    return store.size();
  }

  @Override
  public void close() {
    informer.stop();
  }

  /** Keeps only the binding, never the pod spec. */
  private static final class Store implements ItemStore<Pod> {
    final Map<String, LocalTokenVerifier.BoundPod> entries = new ConcurrentHashMap<>();

    @Override
    public String getKey(Pod pod) {
      return Cache.metaNamespaceKeyFunc(pod);
    }

    @Override
    public Pod put(String key, Pod pod) {
      String serviceAccount = pod.getSpec() == null ? null : pod.getSpec().getServiceAccountName();
      return restore(
          key,
          entries.put(
              key,
              new LocalTokenVerifier.BoundPod(
                  pod.getMetadata().getUid(),
                  serviceAccount == null || serviceAccount.isEmpty() ? "default" : serviceAccount,
                  pod.getMetadata().getDeletionTimestamp() != null)));
    }

    @Override
    public Pod remove(String key) {
      return restore(key, entries.remove(key));
    }

    @Override
    public Stream<String> keySet() {
      return entries.keySet().stream();
    }

    @Override
    public Stream<Pod> values() {
      return entries.entrySet().stream().map(e -> restore(e.getKey(), e.getValue()));
    }

    @Override
    public int size() {
      return entries.size();
    }

    @Override
    public Pod get(String key) {
      return restore(key, entries.get(key));
    }

    @Override
    public boolean isFullState() {
      return false;
    }

    private static Pod restore(String key, LocalTokenVerifier.BoundPod entry) {
      if (entry == null) {
        return null;
      }
      int slash = key.indexOf('/');
      Pod pod = new Pod();
      pod.setMetadata(
          new ObjectMetaBuilder()
              .withNamespace(key.substring(0, slash))
              .withName(key.substring(slash + 1))
              .withUid(entry.uid())
              .build());
      PodSpec spec = new PodSpec();
      spec.setServiceAccountName(entry.serviceAccount());
      pod.setSpec(spec);
      return pod;
    }
  }
}
