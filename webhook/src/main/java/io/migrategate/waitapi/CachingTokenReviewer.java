package io.migrategate.waitapi;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.LongSupplier;

/**
 * Remembers token reviews for a short time, keyed by the SHA-256 of the token (never the token
 * itself), so a waiter that reconnects — or hundreds that connect at once with the same token —
 * cost one TokenReview. Concurrent reviews of the same token share one call.
 *
 * <p>Valid tokens are remembered for {@code positiveTtl}, never past their own expiry; rejected
 * ones for {@code negativeTtl} (a short brake on retry storms with a bad token); "unavailable" is
 * never remembered. Bounded: beyond {@link #MAX_ENTRIES} expired entries are dropped, then all.
 */
public final class CachingTokenReviewer implements TokenReviewer {
  public static final Duration DEFAULT_POSITIVE_TTL = Duration.ofMinutes(1);
  public static final Duration DEFAULT_NEGATIVE_TTL = Duration.ofSeconds(5);
  static final int MAX_ENTRIES = 20_000;

  private final TokenReviewer delegate;
  private final Duration positiveTtl;
  private final Duration negativeTtl;
  private final LongSupplier nanoTime;
  private final LongSupplier epochSecond;
  private final Map<String, Cached> cache = new ConcurrentHashMap<>();
  private final Map<String, CompletableFuture<Result>> inFlight = new ConcurrentHashMap<>();
  private final LongAdder hits = new LongAdder();
  private final LongAdder reviews = new LongAdder();

  private record Cached(Result result, long expiresAtNanos) {}

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
    this.delegate = delegate;
    this.positiveTtl = positiveTtl;
    this.negativeTtl = negativeTtl;
    this.nanoTime = nanoTime;
    this.epochSecond = epochSecond;
  }

  @Override
  public Result review(String token) {
    String key = hash(token);
    long now = nanoTime.getAsLong();
    Cached cached = cache.get(key);
    if (cached != null && cached.expiresAtNanos - now > 0) {
      hits.increment();
      return cached.result;
    }
    CompletableFuture<Result> mine = new CompletableFuture<>();
    CompletableFuture<Result> running = inFlight.putIfAbsent(key, mine);
    if (running != null) {
      hits.increment();
      return running.join();
    }
    try {
      // A review that finished between the lookup above and taking the lead is in the cache now.
      Cached finished = cache.get(key);
      if (finished != null && finished.expiresAtNanos - nanoTime.getAsLong() > 0) {
        hits.increment();
        mine.complete(finished.result);
        return finished.result;
      }
      reviews.increment();
      Result result = delegate.review(token);
      remember(key, result, nanoTime.getAsLong());
      mine.complete(result);
      return result;
    } catch (RuntimeException e) {
      Result result = new Result.Unavailable("token review failed: " + e);
      mine.complete(result);
      return result;
    } finally {
      inFlight.remove(key, mine);
    }
  }

  /** Reviews answered from memory (or by joining a concurrent review). */
  public long hits() {
    return hits.sum();
  }

  /** Reviews that went to the delegate (the API server). */
  public long reviews() {
    return reviews.sum();
  }

  private void remember(String key, Result result, long now) {
    long ttlNanos;
    if (result instanceof Result.Authenticated authenticated) {
      ttlNanos = positiveTtl.toNanos();
      if (authenticated.expiresAtEpochSecond() > 0) {
        long left = authenticated.expiresAtEpochSecond() - epochSecond.getAsLong();
        ttlNanos = Math.min(ttlNanos, Duration.ofSeconds(Math.max(0, left)).toNanos());
      }
    } else if (result instanceof Result.Rejected) {
      ttlNanos = negativeTtl.toNanos();
    } else {
      return;
    }
    if (ttlNanos <= 0) {
      return;
    }
    if (cache.size() >= MAX_ENTRIES) {
      cache.values().removeIf(c -> c.expiresAtNanos - now <= 0);
      if (cache.size() >= MAX_ENTRIES) {
        cache.clear();
      }
    }
    cache.put(key, new Cached(result, now + ttlNanos));
  }

  static String hash(String token) {
    try {
      MessageDigest digest = MessageDigest.getInstance("SHA-256");
      return HexFormat.of().formatHex(digest.digest(token.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is required of every JDK", e);
    }
  }
}
