package io.migrategate.gate.admission;

import io.migrategate.gate.jobs.JobLookup;
import io.migrategate.gate.jobs.JobTracker;
import io.vertx.core.Context;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The admission fast path against the gate's Job tracker: a pod whose Jobs all succeeded is let
 * through without a waiter only after the API server confirmed that no newer run of those Jobs
 * exists ({@link JobTracker#noNewerRun}): the tracker's watch may not have delivered a re-run
 * created a moment ago. The confirming read blocks: on an event loop this throws {@link
 * WouldBlockException} and the review runs again on a worker. When the read fails the pod gets its
 * waiter, which decides.
 */
public final class ConfirmedJobStatus implements JobStatusView {
  private static final Logger LOG = LoggerFactory.getLogger(ConfirmedJobStatus.class);

  private final JobTracker tracker;
  private final JobTracker.CurrentRuns currentRuns;

  public ConfirmedJobStatus(JobTracker tracker, JobTracker.CurrentRuns currentRuns) {
    this.tracker = Objects.requireNonNull(tracker, "tracker");
    this.currentRuns = Objects.requireNonNull(currentRuns, "currentRuns");
  }

  @Override
  public boolean allSucceeded(String namespace, List<String> jobs, String revision) {
    Optional<Map<String, JobLookup>> successes = tracker.successes(namespace, jobs, revision);
    if (successes.isEmpty()) {
      return false;
    }
    if (Context.isOnEventLoopThread()) {
      throw new WouldBlockException("confirm the success of Jobs " + namespace + "/" + jobs);
    }
    try {
      if (JobTracker.noNewerRun(namespace, successes.get(), currentRuns)) {
        return true;
      }
      LOG.info(
          "admission fast path declined namespace={} jobs={} reason=\"a newer run exists in the"
              + " API server than the job tracker has seen; the pod gets its waiter\"",
          namespace,
          String.join(",", jobs));
      return false;
    } catch (RuntimeException e) {
      LOG.warn(
          "admission fast path declined namespace={} jobs={} reason=\"the success could not be"
              + " confirmed with the API server; the pod gets its waiter\" cause=\"{}\"",
          namespace,
          String.join(",", jobs),
          e.getMessage());
      return false;
    }
  }
}
