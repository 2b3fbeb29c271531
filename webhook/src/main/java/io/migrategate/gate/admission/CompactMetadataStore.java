package io.migrategate.gate.admission;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.ObjectMeta;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.OwnerReference;
import io.fabric8.kubernetes.client.informers.cache.Cache;
import io.fabric8.kubernetes.client.informers.cache.ItemStore;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;
import java.util.stream.Stream;

/**
 * An informer store that keeps, per object, only what the owner walk reads: uid, resourceVersion,
 * the {@code migrate.io/} annotations and the owner references. Workloads carry their whole pod
 * template and often a {@code last-applied-configuration} annotation as large as the manifest; none
 * of it is kept.
 *
 * <p>fabric8 7.8 cannot ask the API server for metadata only (PartialObjectMetadata, fabric8 issue
 * #5716), so list and watch still transfer whole objects; the cache does not hold them.
 */
final class CompactMetadataStore<T extends HasMetadata> implements ItemStore<T> {
  private final Map<String, Entry> entries = new ConcurrentHashMap<>();
  private final Supplier<T> factory;

  CompactMetadataStore(Supplier<T> factory) {
    this.factory = factory;
  }

  private record Entry(
      String uid,
      String resourceVersion,
      Map<String, String> annotations,
      List<OwnerReference> ownerReferences) {}

  @Override
  public String getKey(T object) {
    return Cache.metaNamespaceKeyFunc(object);
  }

  @Override
  public T put(String key, T object) {
    return restore(key, entries.put(key, compact(object)));
  }

  @Override
  public T remove(String key) {
    return restore(key, entries.remove(key));
  }

  @Override
  public Stream<String> keySet() {
    return entries.keySet().stream();
  }

  @Override
  public Stream<T> values() {
    return entries.entrySet().stream().map(e -> restore(e.getKey(), e.getValue()));
  }

  @Override
  public int size() {
    return entries.size();
  }

  @Override
  public T get(String key) {
    return restore(key, entries.get(key));
  }

  @Override
  public boolean isFullState() {
    return false;
  }

  private static Entry compact(HasMetadata object) {
    ObjectMeta metadata = object.getMetadata();
    Map<String, String> gateAnnotations = new LinkedHashMap<>();
    if (metadata.getAnnotations() != null) {
      metadata
          .getAnnotations()
          .forEach(
              (key, value) -> {
                if (GateAnnotations.keptOnOwners(key)) {
                  gateAnnotations.put(key, value);
                }
              });
    }
    List<OwnerReference> owners =
        metadata.getOwnerReferences() == null
            ? List.of()
            : List.copyOf(metadata.getOwnerReferences());
    return new Entry(
        metadata.getUid(), metadata.getResourceVersion(), Map.copyOf(gateAnnotations), owners);
  }

  private T restore(String key, Entry entry) {
    if (entry == null) {
      return null;
    }
    int slash = key.indexOf('/');
    T object = factory.get();
    object.setMetadata(
        new ObjectMetaBuilder()
            .withNamespace(slash < 0 ? null : key.substring(0, slash))
            .withName(key.substring(slash + 1))
            .withUid(entry.uid())
            .withResourceVersion(entry.resourceVersion())
            .withAnnotations(new LinkedHashMap<>(entry.annotations()))
            .withOwnerReferences(entry.ownerReferences())
            .build());
    return object;
  }
}
