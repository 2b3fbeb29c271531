package io.migrategate.wait;

import io.migrategate.core.JobSnapshot;
import io.migrategate.core.JobVerdict;

/** What a {@link JobSource} learned about one followed Job. */
public sealed interface JobEvent {

  /** The followed Job's name (not qualified); null for a {@link Notice} about all of them. */
  String job();

  /** The Job as it is now. */
  record Observed(String job, JobSnapshot object) implements JobEvent {}

  /**
   * The Job's verdict as a source that judges Jobs itself reports it (the gate, with the same
   * {@link JobVerdict} code and the pod's revision). The gate may judge from its success ledger
   * when the Job was deleted after it succeeded.
   *
   * @param uid the judged run's uid, or null when the source does not know it
   */
  record Judged(String job, String uid, JobVerdict verdict) implements JobEvent {}

  /** No Job of that name exists (not created yet, or deleted). */
  record Missing(String job) implements JobEvent {}

  /**
   * The source cannot go on: credentials rejected (401) or a permission is missing (403). The
   * message names the missing permission (verb, resource, namespace, identity).
   */
  record Denied(String job, String message) implements JobEvent {}

  /**
   * A change in how the source reaches the Job, worth one log line: connection lost or restored,
   * watch not permitted so polling instead.
   */
  record Notice(String job, String event, String message) implements JobEvent {}
}
