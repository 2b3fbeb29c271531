package io.migrategate.gate.jobs;

import io.fabric8.kubernetes.api.model.ListOptionsBuilder;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.Watch;
import io.fabric8.kubernetes.client.Watcher;
import io.fabric8.kubernetes.client.WatcherException;
import io.migrategate.gate.ledger.WatchMark;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Replays the Job events between the replicas' last {@link WatchMark} and this replica's first
 * list, into {@link JobTracker#missed}: while no replica watched (the gate down, or all replicas
 * restarting) a run may have been created, failed and deleted, and its success-shadowing must not
 * be lost. The API server keeps a window of watch history (at least 75 s of events, far longer in a
 * quiet cluster; none across its own restart); when the mark is older than that, the answer is
 * {@link Outcome#GONE} and the caller doubts what the ledger recorded before.
 */
final class MissedEvents {

  /**
   * Length of each replay watch. The API server sends a bookmark two seconds before a watch's
   * deadline, carrying how far it has sent: a short watch says soon that the replay is complete.
   */
  static final long WATCH_SECONDS = 3;

  /** Bound of the whole replay; past it, the gap counts as real. */
  static final Duration TIMEOUT = Duration.ofSeconds(30);

  enum Outcome {
    /** Every event since the mark was replayed. */
    REPLAYED,
    /** The API server no longer holds the events since the mark (410). */
    GONE,
    /** The replay failed or did not finish in time; the gap counts as real. */
    FAILED
  }

  /**
   * @param outcome how it ended
   * @param events events replayed
   * @param cause why it did not complete, or null
   */
  record Result(Outcome outcome, int events, String cause) {}

  private MissedEvents() {}

  /**
   * Replays from {@code mark} until the API server's watch has passed {@code listedAt} (the
   * resourceVersion of this replica's first list). Blocking, for at most {@link #TIMEOUT}.
   */
  static Result replay(KubernetesClient client, WatchMark mark, long listedAt, JobTracker tracker) {
    if (mark.revision() >= listedAt) {
      return new Result(Outcome.REPLAYED, 0, null);
    }
    if (mark.revision() < 0) {
      return new Result(Outcome.FAILED, 0, "resourceVersion " + mark.resourceVersion());
    }
    CompletableFuture<Result> done = new CompletableFuture<>();
    AtomicInteger events = new AtomicInteger();
    Watcher<Job> watcher =
        new Watcher<>() {
          @Override
          public void eventReceived(Action action, Job job) {
            long at = revision(job);
            switch (action) {
              case ADDED, MODIFIED, DELETED -> {
                tracker.missed(job);
                events.incrementAndGet();
              }
              default -> {
                // BOOKMARK: only its resourceVersion matters; ERROR: the client closes the watch
              }
            }
            if (at >= listedAt) {
              done.complete(new Result(Outcome.REPLAYED, events.get(), null));
            }
          }

          @Override
          public void onClose(WatcherException cause) {
            done.complete(
                cause.isHttpGone()
                    ? new Result(Outcome.GONE, events.get(), cause.getMessage())
                    : new Result(Outcome.FAILED, events.get(), cause.getMessage()));
          }
        };
    Watch watch = null;
    try {
      watch =
          client
              .batch()
              .v1()
              .jobs()
              .inAnyNamespace()
              .watch(
                  new ListOptionsBuilder()
                      .withResourceVersion(mark.resourceVersion())
                      .withAllowWatchBookmarks(true)
                      .withTimeoutSeconds(WATCH_SECONDS)
                      .build(),
                  watcher);
      return done.get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
    } catch (TimeoutException e) {
      return new Result(
          Outcome.FAILED, events.get(), "not caught up within " + TIMEOUT.toSeconds() + " s");
    } catch (ExecutionException | RuntimeException e) {
      return new Result(Outcome.FAILED, events.get(), e.toString());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return new Result(Outcome.FAILED, events.get(), "interrupted");
    } finally {
      if (watch != null) {
        watch.close();
      }
    }
  }

  private static long revision(Job job) {
    try {
      return Long.parseLong(job.getMetadata().getResourceVersion());
    } catch (RuntimeException e) {
      return -1;
    }
  }
}
