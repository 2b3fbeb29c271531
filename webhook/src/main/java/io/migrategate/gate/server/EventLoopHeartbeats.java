package io.migrategate.gate.server;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * Each admission event loop stamps its slot every second; /livez fails when one has not stamped for
 * {@link #STALE_AFTER_NANOS}, i.e. that loop is blocked and its connections hang.
 */
public final class EventLoopHeartbeats {
  static final long INTERVAL_MILLIS = 1000;
  public static final long STALE_AFTER_NANOS = 10_000_000_000L;
  private static final int MAX_LOOPS = 256;

  private final AtomicLongArray lastBeatNanos = new AtomicLongArray(MAX_LOOPS);
  private final AtomicInteger registered = new AtomicInteger();

  int register() {
    int slot = registered.getAndIncrement();
    if (slot >= MAX_LOOPS) {
      throw new IllegalStateException("more than " + MAX_LOOPS + " admission event loops");
    }
    lastBeatNanos.set(slot, System.nanoTime());
    return slot;
  }

  void beat(int slot) {
    lastBeatNanos.set(slot, System.nanoTime());
  }

  public int loops() {
    return registered.get();
  }

  /** Nanoseconds since the least recent stamp of any loop; 0 when none is registered. */
  public long stalestAgeNanos() {
    long now = System.nanoTime();
    long oldest = 0;
    for (int i = 0; i < Math.min(registered.get(), MAX_LOOPS); i++) {
      oldest = Math.max(oldest, now - lastBeatNanos.get(i));
    }
    return oldest;
  }
}
