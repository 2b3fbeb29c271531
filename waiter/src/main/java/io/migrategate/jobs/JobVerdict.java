package io.migrategate.jobs;

import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.batch.v1.JobCondition;
import io.fabric8.kubernetes.api.model.batch.v1.JobSpec;
import io.fabric8.kubernetes.api.model.batch.v1.JobStatus;
import java.util.List;
import java.util.Map;
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
  public static JobVerdict of(Job job, String expectedRevision) {
    Objects.requireNonNull(job, "job");
    if (expectedRevision != null && !expectedRevision.isBlank()) {
      String actual = annotations(job).get(REVISION_ANNOTATION);
      if (!expectedRevision.equals(actual)) {
        String found = actual == null ? "no revision" : "revision " + actual;
        return new JobVerdict(
            Phase.OTHER_REVISION,
            "a different run (" + found + ", expecting " + expectedRevision + ") — waiting",
            null,
            null);
      }
    }
    JobStatus status = Optional.ofNullable(job.getStatus()).orElseGet(JobStatus::new);
    List<JobCondition> conditions = Optional.ofNullable(status.getConditions()).orElse(List.of());

    // Terminal conditions win over the interim ones (1.31+), which only announce them early.
    Optional<JobCondition> complete = trueCondition(conditions, "Complete");
    if (complete.isPresent()) {
      return terminal(Phase.SUCCEEDED, "succeeded", complete.get());
    }
    Optional<JobCondition> failed = trueCondition(conditions, "Failed");
    if (failed.isPresent()) {
      return terminal(Phase.FAILED, "failed", failed.get());
    }
    // Safe to start early: the success criteria are met, only pod termination is pending.
    Optional<JobCondition> successCriteriaMet = trueCondition(conditions, "SuccessCriteriaMet");
    if (successCriteriaMet.isPresent()) {
      return terminal(Phase.SUCCEEDED, "succeeded", successCriteriaMet.get());
    }
    // The Job is doomed; Failed follows once its pods have terminated.
    Optional<JobCondition> failureTarget = trueCondition(conditions, "FailureTarget");
    if (failureTarget.isPresent()) {
      return terminal(Phase.FAILED, "failed", failureTarget.get());
    }
    if (trueCondition(conditions, "Suspended").isPresent()) {
      return new JobVerdict(Phase.SUSPENDED, "suspended" + progress(job, status), null, null);
    }
    int failedPods = count(status.getFailed());
    if (failedPods > 0) {
      return new JobVerdict(
          Phase.RETRYING, "retrying (" + retryDetail(job, status) + ")", null, null);
    }
    int active = count(status.getActive());
    if (active > 0) {
      return new JobVerdict(
          Phase.RUNNING,
          "running (" + active + " active" + completionsDetail(job, status) + ")",
          null,
          null);
    }
    return new JobVerdict(Phase.PENDING, "pending" + progress(job, status), null, null);
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

  private static JobVerdict terminal(Phase phase, String word, JobCondition condition) {
    String reason = blankToNull(condition.getReason());
    String message = blankToNull(condition.getMessage());
    StringBuilder line = new StringBuilder(word);
    if (!"Complete".equals(condition.getType())) {
      line.append(" (").append(condition.getType()).append(')');
    }
    if (reason != null) {
      line.append(": ").append(reason);
    }
    if (message != null) {
      line.append(": ").append(message);
    }
    return new JobVerdict(phase, line.toString(), reason, message);
  }

  private static String retryDetail(Job job, JobStatus status) {
    JobSpec spec = Optional.ofNullable(job.getSpec()).orElseGet(JobSpec::new);
    StringBuilder detail = new StringBuilder().append(count(status.getFailed())).append(" failed");
    if (spec.getBackoffLimitPerIndex() != null) {
      detail.append(", backoffLimitPerIndex ").append(spec.getBackoffLimitPerIndex());
      String failedIndexes = blankToNull(status.getFailedIndexes());
      if (failedIndexes != null) {
        detail.append(", failed indexes ").append(failedIndexes);
      }
    } else {
      detail
          .append(", backoffLimit ")
          .append(Optional.ofNullable(spec.getBackoffLimit()).orElse(DEFAULT_BACKOFF_LIMIT));
    }
    int active = count(status.getActive());
    if (active > 0) {
      detail.append(", ").append(active).append(" active");
    }
    return detail.append(completionsDetail(job, status)).toString();
  }

  /** ", 2/5 succeeded" when the Job needs more than one success, else empty. */
  private static String completionsDetail(Job job, JobStatus status) {
    Integer completions = job.getSpec() == null ? null : job.getSpec().getCompletions();
    if (completions == null || completions <= 1) {
      return "";
    }
    return ", " + count(status.getSucceeded()) + "/" + completions + " succeeded";
  }

  private static String progress(Job job, JobStatus status) {
    String detail = completionsDetail(job, status);
    return detail.isEmpty() ? "" : " (" + detail.substring(2) + ")";
  }

  private static Optional<JobCondition> trueCondition(List<JobCondition> conditions, String type) {
    return conditions.stream()
        .filter(c -> type.equals(c.getType()) && "True".equalsIgnoreCase(c.getStatus()))
        .findFirst();
  }

  private static Map<String, String> annotations(Job job) {
    if (job.getMetadata() == null || job.getMetadata().getAnnotations() == null) {
      return Map.of();
    }
    return job.getMetadata().getAnnotations();
  }

  private static int count(Integer value) {
    return value == null ? 0 : value;
  }

  private static String blankToNull(String value) {
    return value == null || value.isBlank() ? null : value.trim();
  }
}
