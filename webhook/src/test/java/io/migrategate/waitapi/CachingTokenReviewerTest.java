package io.migrategate.waitapi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

import io.migrategate.waitapi.TokenReviewer.Result;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class CachingTokenReviewerTest {
  private final AtomicLong nanos = new AtomicLong(1_000);
  private final AtomicLong epochSeconds = new AtomicLong(1_000_000);
  private final AtomicInteger calls = new AtomicInteger();

  private CachingTokenReviewer caching(TokenReviewer delegate) {
    return new CachingTokenReviewer(
        delegate, Duration.ofSeconds(60), Duration.ofSeconds(5), nanos::get, epochSeconds::get);
  }

  private TokenReviewer counting(Result result) {
    return token -> {
      calls.incrementAndGet();
      return result;
    };
  }

  @Test
  void aValidTokenIsReviewedOnceWithinTheTtl() {
    CachingTokenReviewer reviewer =
        caching(counting(Result.Authenticated.of("system:serviceaccount:shop:app", 0)));
    Result first = reviewer.review("token-a");
    reviewer.review("token-a");
    nanos.addAndGet(Duration.ofSeconds(59).toNanos());
    reviewer.review("token-a");
    assertEquals(1, calls.get());
    nanos.addAndGet(Duration.ofSeconds(2).toNanos());
    reviewer.review("token-a");
    assertEquals(2, calls.get());
    Result.Authenticated caller = assertInstanceOf(Result.Authenticated.class, first);
    assertEquals("shop", caller.namespace());
    assertEquals("app", caller.serviceAccount());
  }

  @Test
  void aValidTokenIsNotRememberedPastItsOwnExpiry() {
    CachingTokenReviewer reviewer =
        caching(
            counting(
                Result.Authenticated.of(
                    "system:serviceaccount:shop:app", epochSeconds.get() + 10)));
    reviewer.review("short-lived");
    nanos.addAndGet(Duration.ofSeconds(11).toNanos());
    reviewer.review("short-lived");
    assertEquals(2, calls.get());
  }

  @Test
  void rejectionsAreRememberedBrieflyAndOutagesNotAtAll() {
    CachingTokenReviewer rejecting = caching(counting(new Result.Rejected("expired")));
    rejecting.review("bad");
    rejecting.review("bad");
    assertEquals(1, calls.get());
    nanos.addAndGet(Duration.ofSeconds(6).toNanos());
    rejecting.review("bad");
    assertEquals(2, calls.get());

    calls.set(0);
    CachingTokenReviewer unavailable = caching(counting(new Result.Unavailable("API down")));
    unavailable.review("t");
    unavailable.review("t");
    assertEquals(2, calls.get());
  }

  @Test
  void concurrentReviewsOfOneTokenShareOneCall() throws Exception {
    CountDownLatch release = new CountDownLatch(1);
    CachingTokenReviewer reviewer =
        caching(
            token -> {
              calls.incrementAndGet();
              try {
                release.await(10, TimeUnit.SECONDS);
              } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
              }
              return Result.Authenticated.of("system:serviceaccount:shop:app", 0);
            });
    ExecutorService pool = Executors.newFixedThreadPool(16);
    try {
      List<Future<Result>> results = new ArrayList<>();
      for (int i = 0; i < 50; i++) {
        results.add(pool.submit(() -> reviewer.review("same-token")));
      }
      // The first call is in the delegate; the rest either join it or hit the cache afterwards.
      while (calls.get() == 0) {
        Thread.onSpinWait();
      }
      release.countDown();
      for (Future<Result> result : results) {
        assertInstanceOf(Result.Authenticated.class, result.get(10, TimeUnit.SECONDS));
      }
    } finally {
      pool.shutdownNow();
    }
    assertEquals(1, calls.get());
    assertEquals(1, reviewer.reviews());
    assertEquals(49, reviewer.hits());
  }

  @Test
  void theCacheKeyIsAHashNotTheToken() {
    String hash = CachingTokenReviewer.hash("secret-token");
    assertEquals(64, hash.length());
    assertFalse(hash.contains("secret"));
  }

  @Test
  void serviceAccountUsernamesAreParsedOthersAreNot() {
    assertEquals("shop", Result.Authenticated.of("system:serviceaccount:shop:app", 0).namespace());
    assertEquals(null, Result.Authenticated.of("alice", 0).namespace());
    assertEquals(null, Result.Authenticated.of("system:serviceaccount:shop", 0).namespace());
    assertEquals("user alice", Result.Authenticated.of("alice", 0).describe());
  }
}
