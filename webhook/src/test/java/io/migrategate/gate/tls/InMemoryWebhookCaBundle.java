package io.migrategate.gate.tls;

import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/** A webhook configuration's caBundles in memory; {@link #set} plays a GitOps revert. */
final class InMemoryWebhookCaBundle implements WebhookCaBundle {
  private final List<List<X509Certificate>> entries = new ArrayList<>();
  private long resourceVersion;
  int patches;

  InMemoryWebhookCaBundle(int webhooks) {
    for (int i = 0; i < webhooks; i++) {
      entries.add(List.of());
    }
  }

  synchronized void set(List<X509Certificate> cas) {
    entries.replaceAll(entry -> List.copyOf(cas));
    resourceVersion++;
  }

  synchronized List<X509Certificate> entry(int index) {
    return entries.get(index);
  }

  @Override
  public void start(Runnable onChange) {}

  @Override
  public synchronized ObservedBundle read() {
    List<ObservedBundle.Entry> observed = new ArrayList<>();
    for (int i = 0; i < entries.size(); i++) {
      observed.add(new ObservedBundle.Entry(i, "w" + i + ".test", entries.get(i), null));
    }
    return new ObservedBundle("migrate-gate", true, Long.toString(resourceVersion), observed);
  }

  @Override
  public synchronized Update ensureTrusts(
      List<X509Certificate> trusted, Instant now, Duration grace) {
    boolean changed = false;
    for (int i = 0; i < entries.size(); i++) {
      List<X509Certificate> desired = CaBundleMerge.merge(entries.get(i), trusted, now, grace);
      if (!CaBundleMerge.sameCas(entries.get(i), desired)) {
        entries.set(i, desired);
        changed = true;
      }
    }
    if (changed) {
      patches++;
      resourceVersion++;
    }
    return new Update(read(), changed, List.of(), List.of());
  }

  @Override
  public void close() {}
}
