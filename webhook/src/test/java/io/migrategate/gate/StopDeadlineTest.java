package io.migrategate.gate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** A gate that cannot finish its drain is halted by the deadline, with one line saying why. */
class StopDeadlineTest {

  @Test
  void aStopThatDoesNotFinishIsHaltedAtTheDeadlineWithOneLine() throws Exception {
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    CompletableFuture<Integer> halted = new CompletableFuture<>();
    long start = System.nanoTime();
    Thread deadline =
        StopDeadline.arm(
            Duration.ofMillis(200),
            new PrintStream(err, true, StandardCharsets.UTF_8),
            halted::complete);
    // A daemon: a gate whose drain finished exits (System.exit) without waiting for it.
    assertTrue(deadline.isDaemon());
    assertEquals(StopDeadline.EXIT_STOP_TIMEOUT, halted.get(10, TimeUnit.SECONDS));
    assertTrue(System.nanoTime() - start >= Duration.ofMillis(200).toNanos(), "not before");
    String line = err.toString(StandardCharsets.UTF_8);
    assertTrue(line.contains("did not stop within 200 ms of SIGTERM"), line);
    assertTrue(line.contains("--shutdown-timeout"), line);
  }
}
