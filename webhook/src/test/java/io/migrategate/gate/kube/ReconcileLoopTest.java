package io.migrategate.gate.kube;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.migrategate.core.Backoff;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class ReconcileLoopTest {
  private static final Backoff FAST = new Backoff(Duration.ofMillis(10), Duration.ofMillis(40));

  @Test
  void aPassRunsAgainWhenItSaysItIsDue() throws Exception {
    CountDownLatch three = new CountDownLatch(3);
    try (ReconcileLoop loop = new ReconcileLoop("test-loop", FAST, e -> {})) {
      loop.start(
          () -> {
            three.countDown();
            return Duration.ofMillis(5);
          },
          Duration.ZERO);
      assertTrue(three.await(10, TimeUnit.SECONDS), "three passes, one after another");
    }
  }

  @Test
  void requestsWhileOneIsQueuedCoalesceIntoIt() throws Exception {
    Semaphore entered = new Semaphore(0);
    CountDownLatch release = new CountDownLatch(1);
    AtomicInteger passes = new AtomicInteger();
    try (ReconcileLoop loop = new ReconcileLoop("test-loop", FAST, e -> {})) {
      loop.start(
          () -> {
            passes.incrementAndGet();
            entered.release();
            try {
              release.await(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
              Thread.currentThread().interrupt();
            }
            return null; // only on request
          },
          Duration.ZERO);
      assertTrue(entered.tryAcquire(10, TimeUnit.SECONDS), "the first pass runs");
      for (int i = 0; i < 50; i++) {
        loop.request(); // the first pass is still running: one pass is queued, the rest join it
      }
      release.countDown();
      assertTrue(entered.tryAcquire(10, TimeUnit.SECONDS), "the queued pass runs");
      // Settled: a marker task behind anything queued shows no third pass was started.
      CountDownLatch idle = new CountDownLatch(1);
      loop.execute(idle::countDown);
      assertTrue(idle.await(10, TimeUnit.SECONDS));
      assertEquals(2, passes.get(), "50 requests during one pass cost one more pass");
    }
  }

  @Test
  void aPassThatThrowsIsReportedAndRetriedAfterTheBackOff() throws Exception {
    List<String> reported = new CopyOnWriteArrayList<>();
    CountDownLatch recovered = new CountDownLatch(1);
    AtomicInteger attempts = new AtomicInteger();
    try (ReconcileLoop loop =
        new ReconcileLoop("test-loop", FAST, e -> reported.add(e.getMessage()))) {
      loop.start(
          () -> {
            if (attempts.incrementAndGet() < 3) {
              throw new IllegalStateException("api down " + attempts.get());
            }
            recovered.countDown();
            return null;
          },
          Duration.ZERO);
      assertTrue(recovered.await(10, TimeUnit.SECONDS), "the loop outlives the failures");
    }
    assertEquals(List.of("api down 1", "api down 2"), reported);
  }

  @Test
  void anErrorInAPassDoesNotStopTheLoop() throws Exception {
    List<Throwable> reported = new CopyOnWriteArrayList<>();
    CountDownLatch recovered = new CountDownLatch(1);
    AtomicInteger attempts = new AtomicInteger();
    try (ReconcileLoop loop = new ReconcileLoop("test-loop", FAST, reported::add)) {
      loop.start(
          () -> {
            if (attempts.incrementAndGet() == 1) {
              throw new AssertionError("a bug in the pass");
            }
            recovered.countDown();
            return null;
          },
          Duration.ZERO);
      assertTrue(recovered.await(10, TimeUnit.SECONDS), "retried after an Error, not stopped");
    }
    assertEquals(1, reported.size());
    assertTrue(reported.get(0) instanceof AssertionError);
  }

  @Test
  void noPassRunsOnceCloseHasReturned() throws Exception {
    AtomicInteger passes = new AtomicInteger();
    CountDownLatch running = new CountDownLatch(3);
    ReconcileLoop loop = new ReconcileLoop("test-loop", FAST, e -> {});
    loop.start(
        () -> {
          passes.incrementAndGet();
          running.countDown();
          return Duration.ZERO; // always due again: the loop is never idle
        },
        Duration.ZERO);
    assertTrue(running.await(10, TimeUnit.SECONDS));
    loop.close();
    int atClose = passes.get();
    loop.request(); // ignored, not an error
    // The loop's thread has ended: nothing can run any more (a task handed to it is refused).
    assertThrows(RejectedExecutionException.class, () -> loop.execute(passes::incrementAndGet));
    assertEquals(atClose, passes.get());
  }
}
