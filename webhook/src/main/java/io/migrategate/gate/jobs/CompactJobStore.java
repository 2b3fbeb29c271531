package io.migrategate.gate.jobs;

import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.client.informers.cache.Cache;
import io.fabric8.kubernetes.client.informers.cache.ItemStore;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;

/** The Job informer's own cache, holding {@link CompactJobs compact} Jobs only. */
final class CompactJobStore implements ItemStore<Job> {
  private final Map<String, Job> jobs = new ConcurrentHashMap<>();

  @Override
  public String getKey(Job job) {
    return Cache.metaNamespaceKeyFunc(job);
  }

  @Override
  public Job put(String key, Job job) {
    return jobs.put(key, CompactJobs.compact(job));
  }

  @Override
  public Job remove(String key) {
    return jobs.remove(key);
  }

  @Override
  public Stream<String> keySet() {
    return jobs.keySet().stream();
  }

  @Override
  public Stream<Job> values() {
    return jobs.values().stream();
  }

  @Override
  public int size() {
    return jobs.size();
  }

  @Override
  public Job get(String key) {
    return jobs.get(key);
  }

  @Override
  public boolean isFullState() {
    return false;
  }
}
