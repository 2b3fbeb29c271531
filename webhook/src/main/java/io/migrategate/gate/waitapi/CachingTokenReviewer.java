package io.migrategate.gate.waitapi;

import io.migrategate.gate.observability.PrometheusText;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.LongSupplier;

/**
 * The wait API's token checks, bounded in every direction: a waiter that reconnects — or hundreds
 * that connect at once with the same token — cost one TokenReview, and no flood of tokens costs the
 * API server (or the gate's memory) more than a fixed amount.
 *
 * <ul>
 *   <li><b>Pre-check.</b> A token that cannot be a pod-bound token for the gate's audience (not a
 *       JWT, another audience, expired, no pod binding: {@link TokenClaims}) is rejected without a
 *       TokenReview. Random strings cost nothing but a parse.
 *   <li><b>Cache.</b> Reviews are remembered by the SHA-256 of the token (never the token itself):
 *       valid tokens for {@code positiveTtl} and never past their own {@code exp}, rejected ones
 *       for {@code negativeTtl}; "unavailable" is never remembered. Valid and rejected tokens have
 *       a cache each, least recently used out first, so a flood of bad tokens cannot push out the
 *       waiters' good ones.
 *   <li><b>Concurrency.</b> Concurrent reviews of one token share one call. At most {@code
 *       maxConcurrent} TokenReviews are in flight, a quarter of them (at least one) for one client
 *       address; a review beyond that is answered {@link Result.Unavailable} (busy) at once,
 *       without calling the API server.
 * </ul>
 */
public final class CachingTokenReviewer implements TokenReviewer, AutoCloseable {
  public static final Duration DEFAULT_POSITIVE_TTL = Duration.ofMinutes(1);
  public static final Duration DEFAULT_NEGATIVE_TTL = Duration.ofSeconds(5);
  public static final int DEFAULT_MAX_ENTRIES = 10_000;
  public static final int DEFAULT_MAX_CONCURRENT = 8;

  /**
   * @param audience tokens are pre-checked for this audience; null: no pre-check
   * @param maxEntries per cache (valid, rejected)
   * @param maxConcurrent TokenReviews in flight at once
   */
  public record Settings(
      String audience,
      Duration positiveTtl,
      Duration negativeTtl,
      int maxEntries,
      int maxConcurrent) {

    public static Settings defaults(String audience) {
      return new Settings(
          audience,
          DEFAULT_POSITIVE_TTL,
          DEFAULT_NEGATIVE_TTL,
          DEFAULT_MAX_ENTRIES,
          DEFAULT_MAX_CONCURRENT);
    }

    public Settings withLimits(int entries, int concurrent) {
      return new Settings(audience, positiveTtl, negativeTtl, entries, concurrent);
    }

    int perClient() {
      return Math.max(1, maxConcurrent / 4);
    }
  }

  private final TokenReviewer delegate;
  private final LocalTokenVerifier local;
  private final Settings settings;
  private final Executor executor;
  private final ExecutorService ownExecutor;
  private final LongSupplier nanoTime;
  private final LongSupplier epochSecond;
  private final Lru valid;
  private final Lru rejected;
  private final Map<String, CompletableFuture<Result>> inFlight = new ConcurrentHashMap<>();
  private final Semaphore permits;
  private final Map<String, AtomicInteger> perClient = new ConcurrentHashMap<>();
  private final LongAdder hits = new LongAdder();
  private final LongAdder reviews = new LongAdder();
  private final LongAdder prechecked = new LongAdder();
  private final LongAdder busy = new LongAdder();

  private record Cached(Result result, long expiresAtNanos) {}

  /**
   * A reviewer with its own threads for the blocking TokenReviews (closed by {@link #close}).
   *
   * @param local proves tokens valid without TokenReview where it can; null: TokenReview only
   */
  public static CachingTokenReviewer withOwnThreads(
      TokenReviewer delegate, LocalTokenVerifier local, Settings settings) {
    AtomicInteger number = new AtomicInteger();
    ExecutorService threads =
        Executors.newFixedThreadPool(
            settings.maxConcurrent(),
            runnable -> {
              Thread thread =
                  new Thread(runnable, "migrate-gate-token-review-" + number.incrementAndGet());
              thread.setDaemon(true);
              return thread;
            });
    return new CachingTokenReviewer(
        delegate,
        local,
        settings,
        threads,
        threads,
        System::nanoTime,
        () -> System.currentTimeMillis() / 1000);
  }

  /** Reviews in the calling thread, no pre-check, default bounds (blocking use and tests). */
  public CachingTokenReviewer(TokenReviewer delegate, Duration positiveTtl, Duration negativeTtl) {
    this(
        delegate,
        positiveTtl,
        negativeTtl,
        System::nanoTime,
        () -> System.currentTimeMillis() / 1000);
  }

  CachingTokenReviewer(
      TokenReviewer delegate,
      Duration positiveTtl,
      Duration negativeTtl,
      LongSupplier nanoTime,
      LongSupplier epochSecond) {
    this(
        delegate,
        null,
        new Settings(null, positiveTtl, negativeTtl, DEFAULT_MAX_ENTRIES, DEFAULT_MAX_CONCURRENT),
        Runnable::run,
        null,
        nanoTime,
        epochSecond);
  }

  CachingTokenReviewer(
      TokenReviewer delegate,
      LocalTokenVerifier local,
      Settings settings,
      Executor executor,
      ExecutorService ownExecutor,
      LongSupplier nanoTime,
      LongSupplier epochSecond) {
    this.delegate = delegate;
    this.local = local;
    this.settings = settings;
    this.executor = executor;
    this.ownExecutor = ownExecutor;
    this.nanoTime = nanoTime;
    this.epochSecond = epochSecond;
    this.valid = new Lru(settings.maxEntries());
    this.rejected = new Lru(settings.maxEntries());
    this.permits = new Semaphore(settings.maxConcurrent());
  }

  /** Blocking: waits for the review (runs it in the calling thread when nobody else does). */
  @Override
  public Result review(String token) {
    return reviewAsync(token, "local", false).join();
  }

  @Override
  public CompletableFuture<Result> reviewAsync(String token, String client, boolean fresh) {
    if (settings.audience() != null) {
      String why = TokenClaims.precheck(token, settings.audience(), epochSecond.getAsLong());
      if (why != null) {
        prechecked.increment();
        return CompletableFuture.completedFuture(new Result.Rejected(why));
      }
    }
    if (local != null) {
      // Proven here (signature, claims, a pending pod with the token's uid): no TokenReview, no
      // permit, nothing remembered; everything else is decided by TokenReview below.
      Optional<Result.Authenticated> proven = local.verify(token);
      if (proven.isPresent()) {
        return CompletableFuture.completedFuture(proven.get());
      }
    }
    String key = hash(token);
    if (!fresh) {
      Result remembered = remembered(key, nanoTime.getAsLong());
      if (remembered != null) {
        hits.increment();
        return CompletableFuture.completedFuture(remembered);
      }
    }
    CompletableFuture<Result> mine = new CompletableFuture<>();
    CompletableFuture<Result> running = inFlight.putIfAbsent(key, mine);
    if (running != null) {
      hits.increment();
      return running;
    }
    if (!fresh) {
      // A review that finished between the lookup above and taking the lead is in the cache now.
      Result remembered = remembered(key, nanoTime.getAsLong());
      if (remembered != null) {
        hits.increment();
        inFlight.remove(key, mine);
        mine.complete(remembered);
        return mine;
      }
    }
    String address = client == null ? "unknown" : client;
    if (!acquire(address)) {
      busy.increment();
      Result refused =
          new Result.Unavailable(
              "busy: "
                  + settings.maxConcurrent()
                  + " TokenReviews in flight (or "
                  + settings.perClient()
                  + " for client "
                  + address
                  + ")",
              true);
      inFlight.remove(key, mine);
      mine.complete(refused);
      return mine;
    }
    Runnable work =
        () -> {
          Result result;
          try {
            reviews.increment();
            result = delegate.review(token);
            remember(key, result, nanoTime.getAsLong());
          } catch (RuntimeException e) {
            result = new Result.Unavailable("token review failed: " + e);
          } finally {
            release(address);
          }
          inFlight.remove(key, mine);
          mine.complete(result);
        };
    try {
      executor.execute(work);
    } catch (RejectedExecutionException e) {
      release(address);
      inFlight.remove(key, mine);
      mine.complete(new Result.Unavailable("token review pool closed"));
    }
    return mine;
  }

  private boolean acquire(String client) {
    if (!permits.tryAcquire()) {
      return false;
    }
    AtomicInteger mine =
        perClient.compute(
            client,
            (k, counter) -> {
              AtomicInteger next = counter == null ? new AtomicInteger() : counter;
              next.incrementAndGet();
              return next;
            });
    if (mine.get() > settings.perClient()) {
      release(client);
      return false;
    }
    return true;
  }

  private void release(String client) {
    perClient.computeIfPresent(
        client, (k, counter) -> counter.decrementAndGet() <= 0 ? null : counter);
    permits.release();
  }

  private Result remembered(String key, long now) {
    Cached cached = valid.get(key, now);
    if (cached == null) {
      cached = rejected.get(key, now);
    }
    return cached == null ? null : cached.result;
  }

  /** Reviews answered from memory (or by joining a concurrent review). */
  public long hits() {
    return hits.sum();
  }

  /** Reviews that went to the delegate (the API server). */
  public long reviews() {
    return reviews.sum();
  }

  /** Tokens refused by the pre-check, without a review. */
  public long prechecked() {
    return prechecked.sum();
  }

  /** Reviews refused because the bound on concurrent reviews was reached. */
  public long busy() {
    return busy.sum();
  }

  /** TokenReviews in flight now. */
  public int inFlightReviews() {
    return settings.maxConcurrent() - permits.availablePermits();
  }

  int cachedValid() {
    return valid.size();
  }

  int cachedRejected() {
    return rejected.size();
  }

  private void remember(String key, Result result, long now) {
    long ttlNanos;
    Lru cache;
    if (result instanceof Result.Authenticated authenticated) {
      rejected.remove(key);
      cache = valid;
      ttlNanos = settings.positiveTtl().toNanos();
      if (authenticated.expiresAtEpochSecond() > 0) {
        long left = authenticated.expiresAtEpochSecond() - epochSecond.getAsLong();
        ttlNanos = Math.min(ttlNanos, Duration.ofSeconds(Math.max(0, left)).toNanos());
      }
    } else if (result instanceof Result.Rejected) {
      // A token found invalid (e.g. by an open stream's re-check) is no longer remembered as valid.
      valid.remove(key);
      cache = rejected;
      ttlNanos = settings.negativeTtl().toNanos();
    } else {
      return;
    }
    if (ttlNanos <= 0) {
      return;
    }
    cache.put(key, new Cached(result, now + ttlNanos));
  }

  /** The cache and review metrics (appended to the wait API's). */
  public void renderMetrics(PrometheusText out) {
    out.family(
            "migrate_gate_token_reviews_total",
            "counter",
            "Token checks, by source: verified by the gate itself (local), the API server's"
                + " TokenReview (api), the gate's cache (cache), or refused by the pre-check without"
                + " a review (precheck).")
        .sample(
            "migrate_gate_token_reviews_total",
            PrometheusText.label("source", "local"),
            local == null ? 0 : local.verified())
        .sample(
            "migrate_gate_token_reviews_total", PrometheusText.label("source", "api"), reviews())
        .sample("migrate_gate_token_reviews_total", PrometheusText.label("source", "cache"), hits())
        .sample(
            "migrate_gate_token_reviews_total",
            PrometheusText.label("source", "precheck"),
            prechecked())
        .counter(
            "migrate_gate_token_reviews_busy_total",
            "Token checks answered 503 at once because --max-token-reviews (or one client's"
                + " share) were in flight.",
            busy())
        .gauge(
            "migrate_gate_token_reviews_inflight", "TokenReviews in flight now.", inFlightReviews())
        .gauge(
            "migrate_gate_token_reviews_max",
            "Most TokenReviews in flight at once (--max-token-reviews).",
            settings.maxConcurrent())
        .family(
            "migrate_gate_token_cache_entries",
            "gauge",
            "Remembered token reviews, by result (valid, rejected).")
        .sample(
            "migrate_gate_token_cache_entries",
            PrometheusText.label("result", "valid"),
            valid.size())
        .sample(
            "migrate_gate_token_cache_entries",
            PrometheusText.label("result", "rejected"),
            rejected.size())
        .gauge(
            "migrate_gate_token_cache_max_entries",
            "Most remembered token reviews per result (--token-cache-size).",
            settings.maxEntries())
        .family(
            "migrate_gate_token_cache_evictions_total",
            "counter",
            "Remembered reviews dropped, least recently used first, because their cache was full.")
        .sample(
            "migrate_gate_token_cache_evictions_total",
            PrometheusText.label("result", "valid"),
            valid.evictions())
        .sample(
            "migrate_gate_token_cache_evictions_total",
            PrometheusText.label("result", "rejected"),
            rejected.evictions());
    if (local != null) {
      local.renderMetrics(out);
    }
  }

  @Override
  public void close() {
    if (ownExecutor != null) {
      ownExecutor.shutdownNow();
    }
  }

  static String hash(String token) {
    try {
      MessageDigest digest = MessageDigest.getInstance("SHA-256");
      return HexFormat.of().formatHex(digest.digest(token.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is required of every JDK", e);
    }
  }

  /** A bounded map in access order: the least recently used entry goes first. */
  private static final class Lru {
    private final int max;
    private final LinkedHashMap<String, Cached> entries = new LinkedHashMap<>(64, 0.75f, true);
    private long evictions;

    Lru(int max) {
      this.max = max;
    }

    synchronized Cached get(String key, long now) {
      Cached cached = entries.get(key);
      if (cached == null) {
        return null;
      }
      if (cached.expiresAtNanos - now <= 0) {
        entries.remove(key);
        return null;
      }
      return cached;
    }

    synchronized void put(String key, Cached cached) {
      entries.put(key, cached);
      Iterator<Map.Entry<String, Cached>> oldest = entries.entrySet().iterator();
      while (entries.size() > max && oldest.hasNext()) {
        oldest.next();
        oldest.remove();
        evictions++;
      }
    }

    synchronized void remove(String key) {
      entries.remove(key);
    }

    synchronized int size() {
      return entries.size();
    }

    synchronized long evictions() {
      return evictions;
    }
  }
}
