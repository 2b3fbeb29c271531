package io.migrategate.gate.ledger;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import io.migrategate.core.Backoff;
import io.migrategate.gate.kube.FatalErrors;
import io.migrategate.gate.observability.PrometheusText;
import java.net.HttpURLConnection;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The success ledger stored as ConfigMaps in the gate's own namespace, one per namespace of Jobs
 * ({@code migrate-gate-ledger-<namespace>}, see {@link LedgerShard} for the data). Why ConfigMaps
 * sharded by namespace (docs/gate-wait-api.md): built in (no CRD to install, upgrade or grant
 * cluster-wide), one object per namespace rather than one per Job (a Lease per Job would grow the
 * object count without bound), readable with kubectl, and writable under a Role limited to the
 * gate's namespace.
 *
 * <p>Every replica keeps the whole ledger in memory: a ConfigMap informer absorbs what other
 * replicas write, and {@link #record} applies a replica's own observations at once. Merging is by
 * {@link LedgerEntry#keep}, which every replica evaluates alike, so writes commute and replicas
 * converge. Writes are read-merge-update with the ConfigMap's resourceVersion (a 409 re-reads and
 * merges again) on one background thread; a failed write is retried with back-off and leaves the
 * in-memory entry in force meanwhile.
 *
 * <p>Integrity: a shard's namespace is its name, never a label, and every entry carries a seal
 * ({@link LedgerSeal}) with a key in a Secret only the gate reads ({@link LedgerKey}); entries that
 * do not verify are ignored and written away, so write access to ConfigMaps in the gate's namespace
 * does not let anyone pass pods. Entries pods ask about ({@link #referenced}) are kept first when a
 * shard is full ({@link LedgerShard#compact}).
 *
 * <p>RBAC: get, list, watch, create, update on configmaps in the gate's namespace; get, update on
 * the key's Secret.
 */
public final class ConfigMapSuccessLedger implements SuccessLedger {
  private static final Logger LOG = LoggerFactory.getLogger(ConfigMapSuccessLedger.class);

  public static final String NAME_PREFIX = "migrate-gate-ledger-";

  /** Shards per page of the ledger's list: at most 900 KiB each, so a page stays under ~20 MiB. */
  static final long LEDGER_LIST_PAGE = 20;

  public static final String LEDGER_LABEL = "migrate.io/ledger";
  public static final String LEDGER_LABEL_VALUE = "v1";
  public static final String NAMESPACE_LABEL = "migrate.io/ledger-namespace";

  static final Duration PRUNE_INTERVAL = Duration.ofHours(1);
  static final Duration RETRY_INITIAL = Duration.ofSeconds(1);
  static final Duration RETRY_MAX = Duration.ofMinutes(1);
  private static final Backoff RETRY = new Backoff(RETRY_INITIAL, RETRY_MAX);
  static final int CONFLICT_ATTEMPTS = 10;

  /**
   * Changes to a shard within this window become one write: a shard is written this long after it
   * changes, plus up to as much again at random, so two replicas seldom write the same change at
   * once (the later one finds it stored and writes nothing). Memory answers at once meanwhile.
   */
  static final Duration BATCH_WINDOW = Duration.ofSeconds(1);

  /**
   * Each write rewrites a shard whole (up to 900 KiB): a big shard waits longer, so one namespace's
   * stream of successes costs the API server and etcd at most this many bytes per second.
   */
  static final long SHARD_BYTES_PER_SECOND = 64 * 1024;

  /** How long a stopping gate gives its batched writes. */
  static final Duration FLUSH_TIMEOUT = Duration.ofSeconds(2);

  /** A reference is written again when the stored one is older than this (bounded writes). */
  static final Duration REFERENCE_REFRESH = Duration.ofHours(12);

  /** References to names without an entry yet (their Job has not succeeded): at most this many. */
  static final int MAX_PENDING_REFERENCES = 10_000;

  private final KubernetesClient client;
  private final String gateNamespace;
  private final String keySecret;
  private final LedgerPolicy policy;
  private final Clock clock;
  private final Map<String, Map<String, LedgerEntry>> entries = new ConcurrentHashMap<>();
  private final Set<String> dirty = ConcurrentHashMap.newKeySet();
  private final Map<String, AtomicInteger> failedAttempts = new ConcurrentHashMap<>();
  private final CopyOnWriteArrayList<Listener> listeners = new CopyOnWriteArrayList<>();
  private final ScheduledExecutorService writer;
  private final AtomicBoolean writesFailing = new AtomicBoolean();
  private final LongAdder writes = new LongAdder();
  private final LongAdder writtenBytes = new LongAdder();
  private final Map<String, Long> shardBytes = new ConcurrentHashMap<>();
  private final LongAdder conflicts = new LongAdder();
  private final LongAdder rejected = new LongAdder();
  private final Map<String, Instant> pendingReferences = new ConcurrentHashMap<>();
  private volatile LedgerSeal seal;
  private volatile Optional<WatchMark> storedMark = Optional.empty();
  private final AtomicBoolean markWritesFailing = new AtomicBoolean();
  private SharedIndexInformer<ConfigMap> informer;
  private volatile boolean loaded;
  private final CompletableFuture<Void> whenLoaded = new CompletableFuture<>();

  private ConfigMapSuccessLedger(
      KubernetesClient client,
      String gateNamespace,
      String keySecret,
      LedgerPolicy policy,
      Clock clock) {
    this.client = Objects.requireNonNull(client, "client");
    this.gateNamespace = Objects.requireNonNull(gateNamespace, "gateNamespace");
    this.keySecret = Objects.requireNonNull(keySecret, "keySecret");
    this.policy = Objects.requireNonNull(policy, "policy");
    this.clock = Objects.requireNonNull(clock, "clock");
    this.writer =
        Executors.newSingleThreadScheduledExecutor(
            runnable -> {
              Thread thread = new Thread(runnable, "migrate-gate-ledger");
              thread.setDaemon(true);
              return thread;
            });
  }

  /**
   * Starts reading the key and then the stored ledger, and returns at once; {@link #isLoaded()}
   * says when done.
   *
   * @param keySecret the Secret in the gate's namespace holding the sealing key ({@link
   *     LedgerKey#DEFAULT_SECRET} as shipped)
   */
  public static ConfigMapSuccessLedger start(
      KubernetesClient client,
      String gateNamespace,
      String keySecret,
      LedgerPolicy policy,
      Clock clock) {
    ConfigMapSuccessLedger ledger =
        new ConfigMapSuccessLedger(client, gateNamespace, keySecret, policy, clock);
    ledger.writer.execute(() -> ledger.loadKeyThenStart(1));
    return ledger;
  }

  /** The key first (nothing can be read or written without it), then the shards. */
  private void loadKeyThenStart(int attempt) {
    try {
      LedgerSeal key = LedgerKey.load(client, gateNamespace, keySecret);
      storedMark = readMark(key);
      seal = key;
      if (attempt > 1) {
        LOG.info("success ledger state=key_loaded secret={}/{}", gateNamespace, keySecret);
      }
      startInformer();
    } catch (RuntimeException e) {
      if (attempt == 1) {
        LOG.warn(
            "success ledger state=no_key secret={}/{} cause=\"{}\" (retrying; the ledger is not"
                + " loaded until then)",
            gateNamespace,
            keySecret,
            e.getMessage());
      }
      long delay = RETRY.delay(attempt).toMillis();
      try {
        writer.schedule(() -> loadKeyThenStart(attempt + 1), delay, TimeUnit.MILLISECONDS);
      } catch (java.util.concurrent.RejectedExecutionException closed) {
        // shutting down
      }
    }
  }

  /** The stored {@link WatchMark}; a mark that does not verify counts as none (and is logged). */
  private Optional<WatchMark> readMark(LedgerSeal key) {
    ConfigMap stored =
        client.configMaps().inNamespace(gateNamespace).withName(WatchMark.CONFIG_MAP).get();
    if (stored == null) {
      return Optional.empty();
    }
    Optional<WatchMark> mark = WatchMark.decode(stored.getData(), key);
    if (mark.isEmpty()) {
      LOG.warn(
          "success ledger state=watch_mark_rejected configmap={}/{} (not sealed by this gate's"
              + " key; treated as a gap in the gate's view of Jobs)",
          gateNamespace,
          WatchMark.CONFIG_MAP);
    }
    return mark;
  }

  /**
   * The watch mark as read when the ledger loaded (valid once {@link #isLoaded()}); empty on a new
   * install, or when the stored one did not verify.
   */
  public Optional<WatchMark> storedMark() {
    return storedMark;
  }

  /**
   * Stores {@code mark} unless a replica stored one further along, in the background; a failure is
   * logged once and the next mark tries again. The future completes when the write was made or
   * given up (never exceptionally).
   */
  public CompletableFuture<Void> watchedThrough(WatchMark mark) {
    try {
      return CompletableFuture.runAsync(() -> writeMark(mark), writer);
    } catch (java.util.concurrent.RejectedExecutionException closed) {
      // shutting down
      return CompletableFuture.completedFuture(null);
    }
  }

  private void writeMark(WatchMark mark) {
    LedgerSeal key = seal;
    if (key == null) {
      return;
    }
    try {
      for (int attempt = 1; attempt <= CONFLICT_ATTEMPTS; attempt++) {
        ConfigMap current =
            client.configMaps().inNamespace(gateNamespace).withName(WatchMark.CONFIG_MAP).get();
        WatchMark stored =
            current == null ? null : WatchMark.decode(current.getData(), key).orElse(null);
        if (WatchMark.furthest(stored, mark) == stored) {
          return;
        }
        try {
          if (current == null) {
            client
                .configMaps()
                .inNamespace(gateNamespace)
                .resource(
                    new ConfigMapBuilder()
                        .withNewMetadata()
                        .withName(WatchMark.CONFIG_MAP)
                        .withNamespace(gateNamespace)
                        .addToLabels("app.kubernetes.io/managed-by", "migrate-gate")
                        .addToAnnotations(
                            "migrate.io/description",
                            "How far migrate-gate has watched Jobs (docs/gate-wait-api.md)")
                        .endMetadata()
                        .withData(mark.encode(key))
                        .build())
                .create();
          } else {
            client
                .configMaps()
                .inNamespace(gateNamespace)
                .resource(new ConfigMapBuilder(current).withData(mark.encode(key)).build())
                .update();
          }
          writes.increment();
          if (markWritesFailing.compareAndSet(true, false)) {
            LOG.info("success ledger state=watch_mark_writing namespace={}", gateNamespace);
          }
          return;
        } catch (KubernetesClientException e) {
          if (e.getCode() != HttpURLConnection.HTTP_CONFLICT) {
            throw e;
          }
          conflicts.increment();
        }
      }
    } catch (RuntimeException e) {
      if (!writer.isShutdown() && markWritesFailing.compareAndSet(false, true)) {
        LOG.warn(
            "success ledger state=watch_mark_failing configmap={}/{} cause=\"{}\" (retried with"
                + " the next mark; a restart meanwhile replays from an older one)",
            gateNamespace,
            WatchMark.CONFIG_MAP,
            describe(e));
      }
    }
  }

  /** The ConfigMap that holds the entries of Jobs in {@code namespace}. */
  public static String shardName(String namespace) {
    return NAME_PREFIX + namespace;
  }

  private void startInformer() {
    informer =
        client
            .configMaps()
            .inNamespace(gateNamespace)
            .withLabel(LEDGER_LABEL, LEDGER_LABEL_VALUE)
            // Shards are up to 900 KiB each: paged, a few at a time.
            .withLimit(LEDGER_LIST_PAGE)
            .runnableInformer(0);
    informer.addEventHandler(
        new ResourceEventHandler<>() {
          @Override
          public void onAdd(ConfigMap configMap) {
            absorb(configMap);
          }

          @Override
          public void onUpdate(ConfigMap before, ConfigMap after) {
            absorb(after);
          }

          @Override
          public void onDelete(ConfigMap configMap, boolean finalStateUnknown) {
            // Someone deleted a shard: memory keeps the entries; the next write restores it.
          }
        });
    AtomicBoolean failing = new AtomicBoolean();
    informer.exceptionHandler(
        FatalErrors.retryOthers(
            "success ledger",
            failing,
            error ->
                LOG.warn(
                    "success ledger state=retrying namespace={} cause=\"{}\"",
                    gateNamespace,
                    error.getMessage())));
    informer
        .start()
        .whenComplete(
            (ok, error) -> {
              if (error == null) {
                // The informer hands its first list to the handler asynchronously: take it in
                // from the store now, so "loaded" means the entries are in memory (merging is
                // idempotent, the handler's copy changes nothing).
                informer.getStore().list().forEach(this::absorb);
                loaded = true;
                LOG.info(
                    "success ledger state=loaded namespace={} shards={} entries={}",
                    gateNamespace,
                    informer.getStore().list().size(),
                    size());
                listeners.forEach(Listener::loaded);
                whenLoaded.complete(null);
                // Shards written by an older configuration, or with entries past retention.
                informer.getStore().list().forEach(this::persistIfStale);
              }
            });
    long prune = PRUNE_INTERVAL.toMillis();
    writer.scheduleWithFixedDelay(this::prune, prune, prune, TimeUnit.MILLISECONDS);
  }

  @Override
  public boolean isLoaded() {
    return loaded;
  }

  /** Completes when the ledger has loaded (never, if it cannot: the caller bounds its wait). */
  public CompletableFuture<Void> whenLoaded() {
    return whenLoaded;
  }

  @Override
  public Optional<LedgerEntry> find(String namespace, String job) {
    Map<String, LedgerEntry> shard = entries.get(namespace);
    LedgerEntry entry = shard == null ? null : shard.get(job);
    if (entry == null || !LedgerShard.isRetained(entry, clock.instant(), policy.retention())) {
      return Optional.empty();
    }
    return Optional.of(entry);
  }

  @Override
  public void record(LedgerEntry entry) {
    Instant pending = pendingReferences.remove(entry.namespace() + "/" + entry.job());
    if (merge(pending == null ? entry : entry.referenced(pending))) {
      markDirty(entry.namespace());
    }
  }

  /**
   * A gated pod asked about {@code namespace/job} (admission, the wait API): its entry, now or once
   * its Job succeeds, is kept before unrelated ones when a shard is full. Memory only, and a write
   * when the stored reference is missing or older than {@link #REFERENCE_REFRESH}; never blocks.
   */
  @Override
  public void referenced(String namespace, String job) {
    Instant now = clock.instant();
    Map<String, LedgerEntry> shard = entries.get(namespace);
    LedgerEntry entry = shard == null ? null : shard.get(job);
    if (entry == null) {
      if (pendingReferences.size() < MAX_PENDING_REFERENCES) {
        pendingReferences.put(namespace + "/" + job, now);
      }
      return;
    }
    if (entry.referencedAt() != null
        && entry.referencedAt().isAfter(now.minus(REFERENCE_REFRESH))) {
      return;
    }
    if (merge(entry.referenced(now))) {
      markDirty(namespace);
    }
  }

  @Override
  public int doubt(Instant gapEnd) {
    int doubted = 0;
    for (Map<String, LedgerEntry> shard : entries.values()) {
      for (LedgerEntry entry : shard.values()) {
        if (entry.succeeded() && merge(entry.doubted(gapEnd))) {
          markDirty(entry.namespace());
          doubted++;
        }
      }
    }
    return doubted;
  }

  /** Entries ignored since start because their seal did not verify (a gauge of tampering). */
  public long rejectedEntries() {
    return rejected.sum();
  }

  @Override
  public void addListener(Listener listener) {
    listeners.add(listener);
  }

  /** Entries held in memory (all namespaces). */
  public int size() {
    return entries.values().stream().mapToInt(Map::size).sum();
  }

  /** ConfigMap writes made, and how many of them met a conflict, since start. */
  public long writes() {
    return writes.sum();
  }

  public long conflicts() {
    return conflicts.sum();
  }

  /** A shard's data as the API server stores it: keys and values (a write rewrites it whole). */
  private static long dataBytes(Map<String, String> data) {
    long bytes = 0;
    for (Map.Entry<String, String> entry : data.entrySet()) {
      bytes += entry.getKey().length() + entry.getValue().length();
    }
    return bytes;
  }

  /** Prometheus text of the ledger's metrics (appended to the gate's /metrics). */
  public String renderMetrics() {
    return new PrometheusText()
        .counter(
            "migrate_gate_ledger_writes_total",
            "ConfigMap writes of the success ledger (shards and the watch mark).",
            writes.sum())
        .counter(
            "migrate_gate_ledger_written_bytes_total",
            "Data bytes of the ledger shards written (each write rewrites its shard whole).",
            writtenBytes.sum())
        .counter(
            "migrate_gate_ledger_write_conflicts_total",
            "Ledger writes that met another replica's write (409) and merged again.",
            conflicts.sum())
        .gauge("migrate_gate_ledger_entries", "Ledger entries held in memory.", size())
        .counter(
            "migrate_gate_ledger_rejected_entries_total",
            "Stored entries ignored because their seal did not verify (tampering).",
            rejected.sum())
        .toString();
  }

  @Override
  public void close() {
    if (informer != null) {
      informer.stop();
    }
    // Successes still inside their batch window are written now, within a bound: a replica that
    // stops (a rollout) loses none, even of a Job that is already gone.
    if (seal != null && !dirty.isEmpty() && !writer.isShutdown()) {
      try {
        writer
            .submit(() -> List.copyOf(dirty).forEach(this::persist))
            .get(FLUSH_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      } catch (java.util.concurrent.ExecutionException
          | java.util.concurrent.TimeoutException
          | java.util.concurrent.RejectedExecutionException e) {
        LOG.warn(
            "success ledger state=unflushed shards={} cause=\"{}\" (the entries are in the other"
                + " replica's memory if it runs, and in the Jobs while they exist)",
            dirty.size(),
            describe(e));
      }
    }
    writer.shutdownNow();
  }

  /** Merges one entry into memory; true when it changed what the ledger holds. */
  private boolean merge(LedgerEntry incoming) {
    Map<String, LedgerEntry> shard =
        entries.computeIfAbsent(incoming.namespace(), ns -> new ConcurrentHashMap<>());
    LedgerEntry[] before = new LedgerEntry[1];
    LedgerEntry after =
        shard.compute(
            incoming.job(),
            (job, existing) -> {
              before[0] = existing;
              return LedgerEntry.keep(existing, incoming);
            });
    if (after == before[0]) {
      return false;
    }
    listeners.forEach(l -> l.changed(incoming.namespace(), incoming.job()));
    return true;
  }

  /** Takes in a shard as stored (another replica's writes, or this one's echoed back). */
  private void absorb(ConfigMap configMap) {
    String namespace = namespaceOf(configMap);
    if (namespace == null) {
      return;
    }
    Instant now = clock.instant();
    LedgerShard.Decoded decoded = LedgerShard.decode(namespace, configMap.getData(), seal);
    if (decoded.rejected() > 0) {
      rejected.add(decoded.rejected());
      LOG.warn(
          "success ledger state=rejected_entries shard={} entries={} (not sealed by this gate's"
              + " key: written by something else, or by a gate with another key; ignored and"
              + " written away)",
          configMap.getMetadata().getName(),
          decoded.rejected());
      markDirty(namespace);
    }
    Map<String, LedgerEntry> stored = decoded.entries();
    for (LedgerEntry entry : stored.values()) {
      if (LedgerShard.isRetained(entry, now, policy.retention())) {
        merge(entry);
      }
    }
    for (LedgerEntry entry : entries.getOrDefault(namespace, Map.of()).values()) {
      if (!entry.equals(stored.get(entry.job()))) {
        // Memory holds something storage lacks (a write pending, or another replica's write
        // raced ours and dropped an entry): write it.
        markDirty(namespace);
        return;
      }
    }
  }

  private void persistIfStale(ConfigMap configMap) {
    String namespace = namespaceOf(configMap);
    if (namespace == null) {
      return;
    }
    Map<String, String> data = configMap.getData() == null ? Map.of() : configMap.getData();
    Map<String, String> wanted = LedgerShard.encode(desired(namespace, data).values(), seal);
    if (!wanted.equals(new TreeMap<>(data))) {
      markDirty(namespace);
    }
  }

  private void prune() {
    Instant now = clock.instant();
    entries.forEach(
        (namespace, shard) -> {
          int before = shard.size();
          shard.values().removeIf(e -> !LedgerShard.isRetained(e, now, policy.retention()));
          if (shard.size() != before) {
            LOG.info(
                "success ledger state=pruned namespace={} removed={} kept={}",
                namespace,
                before - shard.size(),
                shard.size());
          }
        });
    if (informer != null) {
      informer.getStore().list().forEach(this::persistIfStale);
    }
  }

  private void markDirty(String namespace) {
    if (seal == null) {
      return; // nothing is written before the key is loaded; the first read marks what is due
    }
    if (dirty.add(namespace)) {
      try {
        writer.schedule(
            () -> persist(namespace), writeDelayMillis(namespace), TimeUnit.MILLISECONDS);
      } catch (java.util.concurrent.RejectedExecutionException closed) {
        // shutting down: close() flushed what was pending
      }
    }
  }

  /** {@link #BATCH_WINDOW}, or longer for a big shard, plus up to a window at random. */
  private long writeDelayMillis(String namespace) {
    long window = BATCH_WINDOW.toMillis();
    long bySize = shardBytes.getOrDefault(namespace, 0L) * 1000 / SHARD_BYTES_PER_SECOND;
    return Math.max(window, bySize)
        + java.util.concurrent.ThreadLocalRandom.current().nextLong(window + 1);
  }

  /** What a shard should hold: what is stored merged with memory, within the policy's bounds. */
  private Map<String, LedgerEntry> desired(String namespace, Map<String, String> storedData) {
    Map<String, LedgerEntry> memory = new TreeMap<>(entries.getOrDefault(namespace, Map.of()));
    Map<String, LedgerEntry> merged =
        new TreeMap<>(LedgerShard.decode(namespace, storedData, seal).entries());
    memory.forEach((job, entry) -> merged.put(job, LedgerEntry.keep(merged.get(job), entry)));
    Map<String, LedgerEntry> compacted = LedgerShard.compact(merged, clock.instant(), policy);
    // Memory takes the same entries as storage (same bounds, and the stored copy of a run two
    // replicas both recorded), except where a newer observation arrived meanwhile.
    Map<String, LedgerEntry> shard = entries.get(namespace);
    if (shard != null) {
      memory.forEach(
          (job, seen) -> {
            if (!compacted.containsKey(job)) {
              shard.remove(job, seen);
            }
          });
      compacted.forEach(
          (job, entry) -> shard.compute(job, (k, current) -> LedgerEntry.keep(entry, current)));
    }
    return compacted;
  }

  private void persist(String namespace) {
    dirty.remove(namespace); // changes from here on schedule another write
    String name = shardName(namespace);
    try {
      for (int attempt = 1; attempt <= CONFLICT_ATTEMPTS; attempt++) {
        ConfigMap current = stored(name, attempt);
        Map<String, String> storedData =
            current == null || current.getData() == null ? Map.of() : current.getData();
        Map<String, String> wanted =
            LedgerShard.encode(desired(namespace, storedData).values(), seal);
        if (current != null && wanted.equals(new TreeMap<>(storedData))) {
          succeeded(namespace);
          return;
        }
        try {
          if (current == null) {
            client
                .configMaps()
                .inNamespace(gateNamespace)
                .resource(shard(namespace, wanted))
                .create();
          } else {
            ConfigMap next =
                new ConfigMapBuilder(current)
                    .editMetadata()
                    .addToLabels(LEDGER_LABEL, LEDGER_LABEL_VALUE)
                    .addToLabels(NAMESPACE_LABEL, namespace)
                    .endMetadata()
                    .withData(wanted)
                    .build();
            // update() sends the resourceVersion read above: a concurrent write makes it a 409.
            client.configMaps().inNamespace(gateNamespace).resource(next).update();
          }
          long bytes = dataBytes(wanted);
          writes.increment();
          writtenBytes.add(bytes);
          shardBytes.put(namespace, bytes);
          succeeded(namespace);
          return;
        } catch (KubernetesClientException e) {
          if (e.getCode() != HttpURLConnection.HTTP_CONFLICT) {
            throw e;
          }
          conflicts.increment();
        }
      }
      throw new IllegalStateException(CONFLICT_ATTEMPTS + " conflicting writes in a row");
    } catch (RuntimeException e) {
      failed(namespace, e);
    }
  }

  /**
   * The shard as stored: first the informer's copy, which costs no request (half the API calls of a
   * write under Job churn); after a conflict, read from the API server. A stale copy only costs
   * that conflict: the write sends its resourceVersion.
   */
  private ConfigMap stored(String name, int attempt) {
    SharedIndexInformer<ConfigMap> watched = informer;
    if (attempt == 1 && watched != null && watched.hasSynced()) {
      return watched.getStore().getByKey(gateNamespace + "/" + name);
    }
    return client.configMaps().inNamespace(gateNamespace).withName(name).get();
  }

  private ConfigMap shard(String namespace, Map<String, String> data) {
    return new ConfigMapBuilder()
        .withNewMetadata()
        .withName(shardName(namespace))
        .withNamespace(gateNamespace)
        .addToLabels(LEDGER_LABEL, LEDGER_LABEL_VALUE)
        .addToLabels(NAMESPACE_LABEL, namespace)
        .addToLabels("app.kubernetes.io/managed-by", "migrate-gate")
        .addToAnnotations(
            "migrate.io/ledger-description",
            "Jobs of namespace "
                + namespace
                + " that succeeded, kept by migrate-gate for "
                + policy.retention().toDays()
                + " days (docs/gate-wait-api.md)")
        .endMetadata()
        .withData(data)
        .build();
  }

  private void succeeded(String namespace) {
    failedAttempts.remove(namespace);
    if (writesFailing.compareAndSet(true, false)) {
      LOG.info("success ledger state=writing namespace={}", gateNamespace);
    }
  }

  private void failed(String namespace, RuntimeException e) {
    if (writer.isShutdown()) {
      return; // closing: the write was interrupted, not refused
    }
    int attempts =
        failedAttempts.computeIfAbsent(namespace, ns -> new AtomicInteger()).incrementAndGet();
    if (writesFailing.compareAndSet(false, true)) {
      LOG.warn(
          "success ledger state=write_failing namespace={} shard={} cause=\"{}\" (entries stay in"
              + " memory and are written when the API allows; the gate needs create/update on"
              + " configmaps in its namespace)",
          gateNamespace,
          shardName(namespace),
          describe(e));
    }
    long delay = RETRY.delay(attempts).toMillis();
    try {
      writer.schedule(() -> markDirty(namespace), delay, TimeUnit.MILLISECONDS);
    } catch (java.util.concurrent.RejectedExecutionException closed) {
      // shutting down
    }
  }

  /**
   * The namespace a shard speaks for: its name, never a label (anyone who may label a ConfigMap
   * could otherwise point one shard's entries at another namespace).
   */
  private static String namespaceOf(ConfigMap configMap) {
    String name = configMap.getMetadata().getName();
    return name.startsWith(NAME_PREFIX) ? name.substring(NAME_PREFIX.length()) : null;
  }

  private static String describe(Exception e) {
    if (e instanceof KubernetesClientException k && k.getCode() > 0) {
      return "HTTP " + k.getCode() + ": " + k.getMessage();
    }
    return e.toString();
  }
}
