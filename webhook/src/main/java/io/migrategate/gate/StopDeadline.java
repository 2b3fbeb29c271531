package io.migrategate.gate;

import java.io.PrintStream;
import java.time.Duration;
import java.util.function.IntConsumer;

/**
 * After SIGTERM, the gate ends by a deadline even when its drain cannot finish: a JVM thrashing in
 * GC with a heap far too small, or a close that hangs, once kept a stopped gate alive with its port
 * for 14 minutes (issue 13). Armed when the drain starts; if the process is still there {@code
 * drainDelay + shutdownTimeout + MARGIN} later, it writes one line and halts.
 */
final class StopDeadline {
  /** After the shutdown timeout: the servers' close (2 s) and a moment; under the pod's 20 s. */
  static final Duration MARGIN = Duration.ofSeconds(3);

  /** Exit code of a gate halted by the deadline (EX_TEMPFAIL). */
  static final int EXIT_STOP_TIMEOUT = 75;

  private StopDeadline() {}

  /** Starts the deadline's daemon thread; {@code halt} is {@code Runtime.getRuntime()::halt}. */
  static Thread arm(Duration deadline, PrintStream err, IntConsumer halt) {
    Thread thread =
        new Thread(
            () -> {
              try {
                Thread.sleep(deadline.toMillis());
              } catch (InterruptedException e) {
                return;
              }
              err.println(
                  "migrate-gate: did not stop within "
                      + deadline.toMillis()
                      + " ms of SIGTERM (--drain-delay + --shutdown-timeout + "
                      + MARGIN.toSeconds()
                      + " s); halting (code "
                      + EXIT_STOP_TIMEOUT
                      + ")");
              err.flush();
              halt.accept(EXIT_STOP_TIMEOUT);
            },
            "migrate-gate-stop-deadline");
    thread.setDaemon(true);
    thread.start();
    return thread;
  }
}
