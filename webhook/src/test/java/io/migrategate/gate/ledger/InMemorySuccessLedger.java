package io.migrategate.gate.ledger;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

/** A ledger in memory with the real merge rule ({@link LedgerEntry#keep}), for tests. */
public final class InMemorySuccessLedger implements SuccessLedger {
  private final Map<String, LedgerEntry> entries = new ConcurrentHashMap<>();
  private final List<Listener> listeners = new CopyOnWriteArrayList<>();
  private final List<LedgerEntry> recorded = new CopyOnWriteArrayList<>();
  private volatile boolean loaded;

  public InMemorySuccessLedger(boolean loaded) {
    this.loaded = loaded;
  }

  public void markLoaded() {
    loaded = true;
    listeners.forEach(Listener::loaded);
  }

  /** Every entry passed to {@link #record}, in order (what would be written). */
  public List<LedgerEntry> recorded() {
    return List.copyOf(recorded);
  }

  @Override
  public boolean isLoaded() {
    return loaded;
  }

  @Override
  public Optional<LedgerEntry> find(String namespace, String job) {
    return Optional.ofNullable(entries.get(namespace + "/" + job));
  }

  @Override
  public void record(LedgerEntry entry) {
    recorded.add(entry);
    String key = entry.namespace() + "/" + entry.job();
    LedgerEntry before = entries.get(key);
    LedgerEntry after = LedgerEntry.keep(before, entry);
    if (after != before) {
      entries.put(key, after);
      listeners.forEach(l -> l.changed(entry.namespace(), entry.job()));
    }
  }

  @Override
  public void referenced(String namespace, String job) {
    // references matter for storage bounds only, which this ledger has none of
  }

  @Override
  public int doubt(java.time.Instant gapEnd) {
    int doubted = 0;
    for (LedgerEntry entry : List.copyOf(entries.values())) {
      if (entry.succeeded() && entry.doubted(gapEnd) != entry) {
        record(entry.doubted(gapEnd));
        doubted++;
      }
    }
    return doubted;
  }

  @Override
  public void addListener(Listener listener) {
    listeners.add(listener);
  }

  @Override
  public void close() {}
}
