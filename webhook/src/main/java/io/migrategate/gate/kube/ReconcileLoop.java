package io.migrategate.gate.kube;

import io.migrategate.core.Backoff;
import java.time.Duration;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;

/**
 * One background thread that runs a reconcile pass, the way a controller's work loop does: a pass
 * says when it is next due; {@link #request} (a watch event) runs one soon, and requests made while
 * one is queued coalesce into it; a pass that throws is retried after the shared {@link Backoff}
 * and reported, and the loop lives on. Used by self-managed TLS and the un-gated pod audit.
 */
public final class ReconcileLoop implements AutoCloseable {

  /** One pass over the world; returns how long until the next is due (null: only on request). */
  @FunctionalInterface
  public interface Pass {
    Duration run();
  }

  private final ScheduledExecutorService executor;
  private final Backoff backoff;
  private final String name;
  private final Consumer<Throwable> unexpected;
  private final AtomicBoolean queued = new AtomicBoolean();
  private volatile Pass pass;
  private ScheduledFuture<?> next;
  private int failures;
  private volatile boolean closed;

  /**
   * @param unexpected told of a pass that threw (on the loop's thread); the pass is retried
   */
  public ReconcileLoop(String threadName, Backoff backoff, Consumer<Throwable> unexpected) {
    this.name = threadName;
    this.backoff = backoff;
    this.unexpected = unexpected;
    this.executor =
        Executors.newSingleThreadScheduledExecutor(
            runnable -> {
              Thread thread = new Thread(runnable, threadName);
              thread.setDaemon(true);
              return thread;
            });
  }

  /** Runs {@code pass} after {@code firstDelay}, then whenever it is due or requested. */
  public synchronized void start(Pass pass, Duration firstDelay) {
    if (this.pass != null) {
      throw new IllegalStateException("already started");
    }
    this.pass = pass;
    submit(() -> schedule(firstDelay));
  }

  /** A pass soon; calls while one is queued coalesce into it. Ignored before start. */
  public void request() {
    if (pass != null && queued.compareAndSet(false, true)) {
      submit(this::runSafely);
    }
  }

  /**
   * Runs {@code task} on the loop's thread, between passes (state the passes own may be touched).
   *
   * @throws RejectedExecutionException when the loop is closed
   */
  public void execute(Runnable task) {
    executor.execute(task);
  }

  private void runSafely() {
    queued.set(false);
    if (closed) {
      return;
    }
    Duration delay;
    try {
      delay = pass.run();
      failures = 0;
    } catch (RuntimeException | Error e) {
      // Unexpected: keep the loop alive, it is what keeps the world converging (renews the
      // certificate, for one). Only a fatal error (out of memory) ends the process instead.
      FatalErrors.exitIfFatal(name, e);
      unexpected.accept(e);
      delay = backoff.delay(++failures);
    }
    schedule(delay);
  }

  private void schedule(Duration delay) {
    if (closed || delay == null) {
      return;
    }
    if (next != null) {
      next.cancel(false);
    }
    try {
      next =
          executor.schedule(this::runSafely, Math.max(delay.toMillis(), 1), TimeUnit.MILLISECONDS);
    } catch (RejectedExecutionException e) {
      // closed
    }
  }

  private void submit(Runnable task) {
    try {
      executor.execute(task);
    } catch (RejectedExecutionException e) {
      // closed
    }
  }

  /** {@link #close(Duration)} waiting up to 10 s for a running pass. */
  @Override
  public void close() {
    close(Duration.ofSeconds(10));
  }

  /**
   * Stops the loop: a running pass may finish within {@code wait}, then it is interrupted; when
   * this returns no pass runs or will run.
   */
  public void close(Duration wait) {
    closed = true;
    try {
      executor
          .submit(
              () -> {
                if (next != null) {
                  next.cancel(false);
                }
              })
          .get(wait.toMillis(), TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (ExecutionException | TimeoutException | RejectedExecutionException e) {
      // closing regardless
    }
    executor.shutdownNow();
    try {
      executor.awaitTermination(1, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
