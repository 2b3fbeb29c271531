package io.migrategate.core;

import io.migrategate.core.JobSnapshot.Condition;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * What a waiter should make of one Job object: the one place where the Job verdict rule lives.
 * Shared by the waiter and the gate.
 *
 * <p>The verdict is decided from the Job's <b>conditions</b> only. Pod counts are never a verdict:
 * {@code status.failed > 0} is normal while the controller retries, and {@code status.succeeded}
 * says nothing about {@code completions > 1}, Indexed Jobs or a success policy. Counts only make
 * the human line more informative.
 *
 * @param phase what the waiter does next (keep waiting, pass, fail)
 * @param line one human-readable line, e.g. {@code retrying (2 failed, backoffLimit 6)}
 * @param reason the deciding condition's reason for a terminal phase, else {@code null}
 * @param message the deciding condition's message for a terminal phase, else {@code null}
 */
public record JobVerdict(Phase phase, String line, String reason, String message) {

  /** The annotation that binds a pod to one run of its Job (same key on the pod and the Job). */
  public static final String REVISION_ANNOTATION = "migrate.io/revision";

  /** The Job controller's default {@code spec.backoffLimit}. */
  static final int DEFAULT_BACKOFF_LIMIT = 6;

  public JobVerdict {
    Objects.requireNonNull(phase, "phase");
    Objects.requireNonNull(line, "line");
  }

  /** Where a Job stands from a waiter's point of view. */
  public enum Phase {
    /** Exists, no pods active yet and no failures. */
    PENDING,
    /** Pods are active, no failure so far. */
    RUNNING,
    /** Some pods failed, the controller is still retrying (not a failure of the Job). */
    RETRYING,
    /** {@code Suspended=True}, e.g. queued by Kueue: waiting, not failing. */
    SUSPENDED,
    /** {@code Complete=True} or {@code SuccessCriteriaMet=True}. */
    SUCCEEDED,
    /** {@code Failed=True} or {@code FailureTarget=True}. */
    FAILED,
    /**
     * The Job carries another {@code migrate.io/revision} than the pod expects: a different run.
     */
    OTHER_REVISION;

    /** Whether the waiter stops waiting on this phase. */
    public boolean isTerminal() {
      return this == SUCCEEDED || this == FAILED;
    }
  }

  /**
   * Judges one Job.
   *
   * @param job the Job as read from the API (never {@code null}; "not found" is the caller's case)
   * @param expectedRevision the pod's {@code migrate.io/revision}, or {@code null} to accept any
   *     run
   */
  public static JobVerdict of(JobSnapshot job, String expectedRevision) {
    Objects.requireNonNull(job, "job");
    if (expectedRevision != null && !expectedRevision.isBlank()) {
      String actual = job.revision();
      if (!expectedRevision.equals(actual)) {
        String found = actual == null ? "no revision" : "revision " + actual;
        return new JobVerdict(
            Phase.OTHER_REVISION,
            "a different run (" + found + ", expecting " + expectedRevision + ") — waiting",
            null,
            null);
      }
    }
    List<Condition> conditions = job.conditions();

    // Terminal conditions win over the interim ones (1.31+), which only announce them early.
    Optional<Condition> complete = trueCondition(conditions, "Complete");
    if (complete.isPresent()) {
      return terminal(Phase.SUCCEEDED, "succeeded", complete.get());
    }
    Optional<Condition> failed = trueCondition(conditions, "Failed");
    if (failed.isPresent()) {
      return terminal(Phase.FAILED, "failed", failed.get());
    }
    // Safe to start early: the success criteria are met, only pod termination is pending.
    Optional<Condition> successCriteriaMet = trueCondition(conditions, "SuccessCriteriaMet");
    if (successCriteriaMet.isPresent()) {
      return terminal(Phase.SUCCEEDED, "succeeded", successCriteriaMet.get());
    }
    // The Job is doomed; Failed follows once its pods have terminated.
    Optional<Condition> failureTarget = trueCondition(conditions, "FailureTarget");
    if (failureTarget.isPresent()) {
      return terminal(Phase.FAILED, "failed", failureTarget.get());
    }
    if (trueCondition(conditions, "Suspended").isPresent()) {
      return new JobVerdict(Phase.SUSPENDED, "suspended" + progress(job), null, null);
    }
    if (job.failed() > 0) {
      return new JobVerdict(Phase.RETRYING, "retrying (" + retryDetail(job) + ")", null, null);
    }
    if (job.active() > 0) {
      return new JobVerdict(
          Phase.RUNNING,
          "running (" + job.active() + " active" + completionsDetail(job) + ")",
          null,
          null);
    }
    return new JobVerdict(Phase.PENDING, "pending" + progress(job), null, null);
  }

  /** {@code reason: message} of a terminal verdict, or the line when there is no reason. */
  public String cause() {
    if (reason == null && message == null) {
      return line;
    }
    if (message == null || message.isBlank()) {
      return reason;
    }
    return reason == null ? message : reason + ": " + message;
  }

  private static JobVerdict terminal(Phase phase, String word, Condition condition) {
    String reason = blankToNull(condition.reason());
    String message = blankToNull(condition.message());
    StringBuilder line = new StringBuilder(word);
    if (!"Complete".equals(condition.type())) {
      line.append(" (").append(condition.type()).append(')');
    }
    if (reason != null) {
      line.append(": ").append(reason);
    }
    if (message != null) {
      line.append(": ").append(message);
    }
    return new JobVerdict(phase, line.toString(), reason, message);
  }

  private static String retryDetail(JobSnapshot job) {
    StringBuilder detail = new StringBuilder().append(job.failed()).append(" failed");
    if (job.backoffLimitPerIndex() != null) {
      detail.append(", backoffLimitPerIndex ").append(job.backoffLimitPerIndex());
      String failedIndexes = blankToNull(job.failedIndexes());
      if (failedIndexes != null) {
        detail.append(", failed indexes ").append(failedIndexes);
      }
    } else {
      detail
          .append(", backoffLimit ")
          .append(Optional.ofNullable(job.backoffLimit()).orElse(DEFAULT_BACKOFF_LIMIT));
    }
    if (job.active() > 0) {
      detail.append(", ").append(job.active()).append(" active");
    }
    return detail.append(completionsDetail(job)).toString();
  }

  /** ", 2/5 succeeded" when the Job needs more than one success, else empty. */
  private static String completionsDetail(JobSnapshot job) {
    Integer completions = job.completions();
    if (completions == null || completions <= 1) {
      return "";
    }
    return ", " + job.succeeded() + "/" + completions + " succeeded";
  }

  private static String progress(JobSnapshot job) {
    String detail = completionsDetail(job);
    return detail.isEmpty() ? "" : " (" + detail.substring(2) + ")";
  }

  private static Optional<Condition> trueCondition(List<Condition> conditions, String type) {
    return conditions.stream()
        .filter(c -> type.equals(c.type()) && "True".equalsIgnoreCase(c.status()))
        .findFirst();
  }

  private static String blankToNull(String value) {
    return value == null || value.isBlank() ? null : value.trim();
  }
}
