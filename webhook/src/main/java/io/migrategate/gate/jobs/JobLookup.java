package io.migrategate.gate.jobs;

import io.migrategate.core.JobVerdict;
import java.util.Objects;

/**
 * What the gate answers about one Job name for one pod: the live Job's verdict, a success recorded
 * in the ledger after the Job was deleted, or nothing.
 *
 * @param job the Job's name
 * @param source where the answer comes from
 * @param uid the judged run's uid, or null when nothing is known
 * @param verdict the verdict for the pod's revision, or null when {@link Source#NONE}
 * @param line what a log shows: the verdict's line, or why nothing is known
 */
public record JobLookup(String job, Source source, String uid, JobVerdict verdict, String line) {

  /** Where an answer comes from. */
  public enum Source {
    /** The Job exists: its own conditions decide. */
    LIVE,
    /** No Job of that name exists; the success ledger remembers its last run. */
    LEDGER,
    /** No Job of that name exists and the ledger holds nothing usable. */
    NONE
  }

  public JobLookup {
    Objects.requireNonNull(job, "job");
    Objects.requireNonNull(source, "source");
    Objects.requireNonNull(line, "line");
    if ((verdict == null) != (source == Source.NONE)) {
      throw new IllegalArgumentException("a verdict exactly when the source is not NONE");
    }
  }

  /** Whether the Job exists or existed (false: a waiter waits for it to be created). */
  public boolean found() {
    return source != Source.NONE;
  }

  /** The verdict's phase, or null when not found. */
  public JobVerdict.Phase phase() {
    return verdict == null ? null : verdict.phase();
  }
}
