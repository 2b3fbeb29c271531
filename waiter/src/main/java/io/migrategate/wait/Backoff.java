package io.migrategate.wait;

import java.time.Duration;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Exponential back-off with jitter, so that many waiters cut off by the same API server restart do
 * not come back in lock-step.
 */
final class Backoff {
  private final long initialMillis;
  private final long maxMillis;
  private int attempt;

  Backoff(Duration initial, Duration max) {
    this.initialMillis = initial.toMillis();
    this.maxMillis = max.toMillis();
  }

  /** The next delay: doubles per attempt up to the max, then a random point in its upper half. */
  Duration next() {
    long ceiling = Math.min(maxMillis, initialMillis << Math.min(attempt, 20));
    attempt++;
    return Duration.ofMillis(ceiling / 2 + ThreadLocalRandom.current().nextLong(ceiling / 2 + 1));
  }

  void reset() {
    attempt = 0;
  }

  /** {@code base} ± 25 %, for polling intervals. */
  static Duration jitter(Duration base) {
    long millis = base.toMillis();
    return Duration.ofMillis(millis * 3 / 4 + ThreadLocalRandom.current().nextLong(millis / 2 + 1));
  }
}
