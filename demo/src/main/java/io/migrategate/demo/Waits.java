package io.migrategate.demo;

import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Function;

/** Waiting for a condition with a deadline: the only way the demo waits for anything. */
final class Waits {
  private Waits() {}

  /**
   * Polls {@code condition} until it holds; on timeout throws what {@code failure} makes of "timed
   * out after N s waiting for: description". Exceptions of the Kubernetes client count as "not
   * yet"; the demo's own failures go through.
   */
  static void until(
      String description,
      Duration timeout,
      BooleanSupplier condition,
      Function<String, ? extends RuntimeException> failure) {
    long deadline = System.nanoTime() + timeout.toNanos();
    RuntimeException last = null;
    long pauseMillis = 20;
    while (true) {
      try {
        if (condition.getAsBoolean()) {
          return;
        }
      } catch (SetupException | ExpectationFailed e) {
        throw e;
      } catch (RuntimeException e) {
        last = e;
      }
      if (System.nanoTime() > deadline) {
        String message = "timed out after " + timeout.toSeconds() + " s waiting for " + description;
        if (last != null) {
          message += " (last error: " + last.getMessage() + ")";
        }
        throw failure.apply(message);
      }
      try {
        // Back-off between polls of an external system, not synchronization by sleeping.
        TimeUnit.MILLISECONDS.sleep(pauseMillis);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw failure.apply("interrupted waiting for " + description);
      }
      pauseMillis = Math.min(pauseMillis * 2, 200);
    }
  }
}
