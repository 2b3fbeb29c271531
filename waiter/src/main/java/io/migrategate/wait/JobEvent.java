package io.migrategate.wait;

import io.fabric8.kubernetes.api.model.batch.v1.Job;

/** What a {@link JobSource} learned about one followed Job. */
public sealed interface JobEvent {

  /** The followed Job's name (not qualified). */
  String job();

  /** The Job as it is now. */
  record Observed(String job, Job object) implements JobEvent {}

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
