package io.migrategate.core;

import java.time.Duration;
import java.util.concurrent.ThreadLocalRandom;

/**
 * The one exponential back-off of every retry loop: the delay doubles per failed attempt from
 * {@code initial} up to {@code max}. {@link #delay} is the exact schedule (the gate's reconcile
 * loops, whose tests pin it); {@link #next} draws a random point in the upper half of it, so that
 * many waiters cut off by the same API server restart do not come back in lock-step.
 */
public final class Backoff {
  private final long initialMillis;
  private final long maxMillis;
  private int attempt;

  public Backoff(Duration initial, Duration max) {
    if (initial.isNegative() || initial.isZero() || max.compareTo(initial) < 0) {
      throw new IllegalArgumentException(
          "back-off needs 0 < initial <= max, got " + initial + " and " + max);
    }
    this.initialMillis = initial.toMillis();
    this.maxMillis = max.toMillis();
  }

  /** The delay before retry number {@code attempt} (1 = after the first failure): no jitter. */
  public Duration delay(int attempt) {
    int doublings = Math.min(Math.max(attempt - 1, 0), 30);
    return Duration.ofMillis(Math.min(maxMillis, initialMillis << doublings));
  }

  /** The next delay of this loop, jittered in the upper half of {@link #delay}. */
  public Duration next() {
    long ceiling = delay(++attempt).toMillis();
    return Duration.ofMillis(ceiling / 2 + ThreadLocalRandom.current().nextLong(ceiling / 2 + 1));
  }

  /** An attempt succeeded: the next failure starts from {@code initial} again. */
  public void reset() {
    attempt = 0;
  }

  /** {@code base} ± 25 %, for polling intervals. */
  public static Duration jitter(Duration base) {
    long millis = base.toMillis();
    return Duration.ofMillis(millis * 3 / 4 + ThreadLocalRandom.current().nextLong(millis / 2 + 1));
  }
}
