package io.migrategate.gate.waitapi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.migrategate.gate.waitapi.TokenReviewer.Result;
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
  void theCacheDropsTheLeastRecentlyUsedEntriesNotAllOfThem() {
    java.util.Map<String, Integer> callsByToken = new java.util.concurrent.ConcurrentHashMap<>();
    CachingTokenReviewer reviewer =
        caching(
            token -> {
              callsByToken.merge(token, 1, Integer::sum);
              return Result.Authenticated.of("system:serviceaccount:shop:app", 0);
            });
    reviewer.review("in-use");
    for (int i = 0; i < 25_000; i++) {
      reviewer.review("token-" + i);
      if (i % 1000 == 0) {
        reviewer.review("in-use");
      }
    }
    assertEquals(1, callsByToken.get("in-use"), "a token in use stays remembered");
    assertTrue(reviewer.cachedValid() <= CachingTokenReviewer.DEFAULT_MAX_ENTRIES);
    reviewer.review("token-24999");
    assertEquals(1, callsByToken.get("token-24999"), "recent entries stay");
    reviewer.review("token-0");
    assertEquals(2, callsByToken.get("token-0"), "the least recently used went first");
  }

  @Test
  void aFloodOfRejectedTokensCannotPushOutValidOnes() {
    java.util.Map<String, Integer> callsByToken = new java.util.concurrent.ConcurrentHashMap<>();
    CachingTokenReviewer reviewer =
        caching(
            token -> {
              callsByToken.merge(token, 1, Integer::sum);
              return token.startsWith("bad")
                  ? new Result.Rejected("invalid")
                  : Result.Authenticated.of("system:serviceaccount:shop:app", 0);
            });
    reviewer.review("good");
    for (int i = 0; i < 12_000; i++) {
      reviewer.review("bad-" + i);
    }
    reviewer.review("good");
    assertEquals(1, callsByToken.get("good"));
    assertEquals(CachingTokenReviewer.DEFAULT_MAX_ENTRIES, reviewer.cachedRejected());
    assertEquals(1, reviewer.cachedValid());
  }

  @Test
  void reviewsBeyondTheBoundAreBusyAtOnceWithoutAskingTheApiServer() throws Exception {
    CountDownLatch release = new CountDownLatch(1);
    ExecutorService threads = Executors.newCachedThreadPool();
    try {
      CachingTokenReviewer reviewer =
          new CachingTokenReviewer(
              token -> {
                calls.incrementAndGet();
                try {
                  release.await(10, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                  Thread.currentThread().interrupt();
                }
                return Result.Authenticated.of("system:serviceaccount:shop:app", 0);
              },
              null,
              new CachingTokenReviewer.Settings(
                  null, Duration.ofSeconds(60), Duration.ofSeconds(5), 100, 4),
              threads,
              null,
              nanos::get,
              epochSeconds::get);
      List<java.util.concurrent.CompletableFuture<Result>> running = new ArrayList<>();
      for (String client : List.of("10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4")) {
        running.add(reviewer.reviewAsync("token-" + client, client, false));
      }
      while (calls.get() < 4) {
        Thread.onSpinWait();
      }
      // All four in flight: a fifth client and a second token of a busy client are refused.
      Result.Unavailable busy =
          assertInstanceOf(
              Result.Unavailable.class, reviewer.reviewAsync("other", "10.0.0.5", false).get());
      assertTrue(busy.busy());
      assertEquals(4, reviewer.inFlightReviews());
      release.countDown();
      for (var review : running) {
        assertInstanceOf(Result.Authenticated.class, review.get(10, TimeUnit.SECONDS));
      }
      assertEquals(4, calls.get(), "the refused review never reached the API server");
      assertEquals(1, reviewer.busy());
    } finally {
      threads.shutdownNow();
    }
  }

  @Test
  void oneClientGetsAQuarterOfTheConcurrentReviews() throws Exception {
    CountDownLatch release = new CountDownLatch(1);
    ExecutorService threads = Executors.newCachedThreadPool();
    try {
      CachingTokenReviewer reviewer =
          new CachingTokenReviewer(
              token -> {
                calls.incrementAndGet();
                try {
                  release.await(10, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                  Thread.currentThread().interrupt();
                }
                return new Result.Rejected("invalid");
              },
              null,
              new CachingTokenReviewer.Settings(
                  null, Duration.ofSeconds(60), Duration.ofSeconds(5), 100, 8),
              threads,
              null,
              nanos::get,
              epochSeconds::get);
      int refused = 0;
      for (int i = 0; i < 10; i++) {
        Result result = reviewer.reviewAsync("flood-" + i, "10.0.0.66", false).getNow(null);
        if (result instanceof Result.Unavailable unavailable && unavailable.busy()) {
          refused++;
        }
      }
      assertEquals(8, refused, "two of eight reviews for one client, the rest refused");
      // Another client still gets in.
      var other = reviewer.reviewAsync("legit", "10.0.0.7", false);
      while (calls.get() < 3) {
        Thread.onSpinWait();
      }
      release.countDown();
      assertInstanceOf(Result.Rejected.class, other.get(10, TimeUnit.SECONDS));
    } finally {
      threads.shutdownNow();
    }
  }

  @Test
  void garbageIsRefusedByThePrecheckWithoutAReview() {
    CachingTokenReviewer reviewer =
        new CachingTokenReviewer(
            counting(Result.Authenticated.of("system:serviceaccount:shop:app", 0)),
            null,
            CachingTokenReviewer.Settings.defaults("migrate-gate"),
            Runnable::run,
            null,
            nanos::get,
            epochSeconds::get);
    assertInstanceOf(Result.Rejected.class, reviewer.review("random-garbage"));
    assertInstanceOf(
        Result.Rejected.class,
        reviewer.review(FakeJwt.of("migrate-gate", epochSeconds.get() + 60, false)));
    assertEquals(0, calls.get());
    assertEquals(2, reviewer.prechecked());
    assertInstanceOf(
        Result.Authenticated.class,
        reviewer.review(FakeJwt.of("migrate-gate", epochSeconds.get() + 60, true)));
    assertEquals(1, calls.get());
  }

  @Test
  void aFreshReviewAsksAgainAndRefreshesTheCache() throws Exception {
    CachingTokenReviewer reviewer =
        caching(counting(Result.Authenticated.of("system:serviceaccount:shop:app", 0)));
    reviewer.review("token");
    reviewer.reviewAsync("token", "c", true).get();
    assertEquals(2, calls.get());
    reviewer.review("token");
    assertEquals(2, calls.get());
  }

  @Test
  void aTokenFoundInvalidByAFreshReviewIsNoLongerRememberedAsValid() throws Exception {
    java.util.concurrent.atomic.AtomicReference<Result> answer =
        new java.util.concurrent.atomic.AtomicReference<>(
            Result.Authenticated.of("system:serviceaccount:shop:app", 0));
    CachingTokenReviewer reviewer =
        caching(
            token -> {
              calls.incrementAndGet();
              return answer.get();
            });
    reviewer.review("token");
    answer.set(new Result.Rejected("the pod was deleted"));
    assertInstanceOf(Result.Rejected.class, reviewer.reviewAsync("token", "c", true).get());
    assertInstanceOf(Result.Rejected.class, reviewer.review("token"));
    assertEquals(2, calls.get(), "the rejection is remembered, the old success is gone");
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
