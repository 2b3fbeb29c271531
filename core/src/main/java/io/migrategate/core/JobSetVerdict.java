package io.migrategate.core;

import io.migrategate.core.JobVerdict.Phase;
import java.util.Map;
import java.util.Objects;

/**
 * The verdict over all the Jobs one pod waits for: the pod may start when every Job succeeded, and
 * fails as soon as one Job failed. The one place this rule lives; the waiter's loop and the gate's
 * wait API and admission fast path all use it.
 *
 * @param outcome what the pod does next
 * @param decidingJob the failed Job for {@link Outcome#FAILED}, else {@code null}
 * @param decidingVerdict that Job's verdict for {@link Outcome#FAILED}, else {@code null}
 */
public record JobSetVerdict(Outcome outcome, String decidingJob, JobVerdict decidingVerdict) {

  /** Where a set of Jobs stands for the waiting pod. */
  public enum Outcome {
    /** Every Job succeeded: the app containers may start. */
    SUCCEEDED,
    /** At least one Job failed: the pod fails. */
    FAILED,
    /** Neither yet: keep waiting. */
    WAITING
  }

  public JobSetVerdict {
    Objects.requireNonNull(outcome, "outcome");
  }

  /**
   * Judges the set.
   *
   * @param verdicts each Job's verdict in the pod's order; a {@code null} value means the Job's
   *     state is not known (not found, or no answer yet), which keeps the pod waiting
   */
  public static JobSetVerdict of(Map<String, JobVerdict> verdicts) {
    if (verdicts.isEmpty()) {
      throw new IllegalArgumentException("a pod waits for at least one Job");
    }
    boolean allSucceeded = true;
    for (Map.Entry<String, JobVerdict> entry : verdicts.entrySet()) {
      JobVerdict verdict = entry.getValue();
      if (verdict != null && verdict.phase() == Phase.FAILED) {
        // The first failure in the pod's order decides, so the reason is stable across replays.
        return new JobSetVerdict(Outcome.FAILED, entry.getKey(), verdict);
      }
      allSucceeded &= verdict != null && verdict.phase() == Phase.SUCCEEDED;
    }
    return new JobSetVerdict(allSucceeded ? Outcome.SUCCEEDED : Outcome.WAITING, null, null);
  }

  /** Whether waiting is over (succeeded or failed). */
  public boolean isTerminal() {
    return outcome != Outcome.WAITING;
  }
}
