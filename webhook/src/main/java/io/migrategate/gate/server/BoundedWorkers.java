package io.migrategate.gate.server;

import io.migrategate.gate.observability.PrometheusText;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.WorkerExecutor;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;

/**
 * A worker pool for blocking work with a bounded queue in front: at most {@code threads} tasks run
 * and {@code queue} more wait; a task beyond that fails at once with {@link BusyException} instead
 * of queueing without bound (Vert.x's own queue has none). Admission answers such a request 503, so
 * the API server applies the webhook's failurePolicy at once rather than after its timeout.
 */
public final class BoundedWorkers implements AutoCloseable {
  /** The pool and its queue are full. */
  static final class BusyException extends RuntimeException {
    BusyException(String pool) {
      super("the " + pool + " worker pool and its queue are full");
    }
  }

  private final String name;
  private final int threads;
  private final int queue;
  private final WorkerExecutor executor;
  private final AtomicInteger inFlight = new AtomicInteger();
  private final LongAdder rejected = new LongAdder();

  public BoundedWorkers(Vertx vertx, String name, int threads, int queue) {
    this.name = name;
    this.threads = threads;
    this.queue = queue;
    this.executor =
        vertx.createSharedWorkerExecutor("migrate-gate-" + name, threads, 10, TimeUnit.SECONDS);
  }

  /** Runs {@code task} on a worker (unordered), or fails at once when the bound is reached. */
  public <T> Future<T> submit(Callable<T> task) {
    if (inFlight.incrementAndGet() > threads + queue) {
      inFlight.decrementAndGet();
      rejected.increment();
      return Future.failedFuture(new BusyException(name));
    }
    return executor
        .executeBlocking(task, false)
        .onComplete(
            done -> {
              inFlight.decrementAndGet();
            });
  }

  int inFlight() {
    return inFlight.get();
  }

  long rejected() {
    return rejected.sum();
  }

  /** The metrics of these pools, one family each. */
  public static String render(BoundedWorkers... pools) {
    PrometheusText out = new PrometheusText();
    out.family(
        "migrate_gate_worker_tasks",
        "gauge",
        "Blocking tasks running or queued, by pool (review: admission reviews that read the API).");
    for (BoundedWorkers pool : pools) {
      out.sample(
          "migrate_gate_worker_tasks", PrometheusText.label("pool", pool.name), pool.inFlight());
    }
    out.family(
        "migrate_gate_worker_tasks_max",
        "gauge",
        "Most blocking tasks running or queued, by pool (threads + queue).");
    for (BoundedWorkers pool : pools) {
      out.sample(
          "migrate_gate_worker_tasks_max",
          PrometheusText.label("pool", pool.name),
          pool.threads + pool.queue);
    }
    out.family(
        "migrate_gate_worker_rejections_total",
        "counter",
        "Blocking tasks refused because their pool and its queue were full (answered 503).");
    for (BoundedWorkers pool : pools) {
      out.sample(
          "migrate_gate_worker_rejections_total",
          PrometheusText.label("pool", pool.name),
          pool.rejected());
    }
    return out.toString();
  }

  @Override
  public void close() {
    executor.close();
  }
}
