package io.migrategate.gate;

import java.time.Duration;

/**
 * {@link GateMain} with a reviewer that takes {@code -Dreview.delay.ms} per review, so a child-JVM
 * test can hold reviews in flight while it sends SIGTERM.
 */
public final class SlowReviewGateMain {
  private SlowReviewGateMain() {}

  public static void main(String[] args) {
    Duration delay = Duration.ofMillis(Long.getLong("review.delay.ms", 3000));
    System.exit(
        GateMain.run(
            args,
            System.getenv(),
            System.out,
            System.err,
            (config, kubernetes, trust) -> new StubReviewer(delay)));
  }
}
