package io.migrategate.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.params.provider.Arguments.arguments;

import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.batch.v1.JobBuilder;
import io.fabric8.kubernetes.api.model.batch.v1.JobConditionBuilder;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import io.migrategate.core.JobVerdict.Phase;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The verdict on a table of Job objects, as the Job controller leaves them in each situation. The
 * Jobs are written with fabric8's builders and reach the verdict as the API server sends them: as
 * JSON, read by {@link JobSnapshot#fromJson}.
 */
public class JobVerdictTest {
  private static final KubernetesSerialization SERIALIZATION = new KubernetesSerialization();

  /** A Job as the waiter reads it from the API. */
  public static JobSnapshot snapshot(Job job) {
    return JobSnapshot.fromJson(Json.object(SERIALIZATION.asJson(job)));
  }

  /** Situation, Job, expected phase, expected line. Also used by the gate's reading of Jobs. */
  public static Stream<Arguments> jobs() {
    return Stream.of(
        arguments("pending: just created, no status", job().build(), Phase.PENDING, "pending"),
        arguments(
            "running: one active pod",
            job().withNewStatus().withActive(1).endStatus().build(),
            Phase.RUNNING,
            "running (1 active)"),
        arguments(
            "retrying: two pods failed, the controller retries under backoffLimit",
            job().withNewStatus().withActive(1).withFailed(2).endStatus().build(),
            Phase.RETRYING,
            "retrying (2 failed, backoffLimit 6, 1 active)"),
        arguments(
            "retried then succeeded: failed pods do not matter once Complete",
            job()
                .withNewStatus()
                .withFailed(2)
                .withSucceeded(1)
                .withConditions(
                    condition(
                        "SuccessCriteriaMet",
                        "CompletionsReached",
                        "Reached expected number of succeeded pods"),
                    condition(
                        "Complete",
                        "CompletionsReached",
                        "Reached expected number of succeeded pods"))
                .endStatus()
                .build(),
            Phase.SUCCEEDED,
            "succeeded: CompletionsReached: Reached expected number of succeeded pods"),
        arguments(
            "failed by backoffLimit",
            job()
                .editSpec()
                .withBackoffLimit(2)
                .endSpec()
                .withNewStatus()
                .withFailed(3)
                .withConditions(
                    condition(
                        "FailureTarget",
                        "BackoffLimitExceeded",
                        "Job has reached the specified backoff limit"),
                    condition(
                        "Failed",
                        "BackoffLimitExceeded",
                        "Job has reached the specified backoff limit"))
                .endStatus()
                .build(),
            Phase.FAILED,
            "failed (Failed): BackoffLimitExceeded: Job has reached the specified backoff limit"),
        arguments(
            "failed by activeDeadlineSeconds",
            job()
                .editSpec()
                .withActiveDeadlineSeconds(30L)
                .endSpec()
                .withNewStatus()
                .withConditions(
                    condition(
                        "FailureTarget",
                        "DeadlineExceeded",
                        "Job was active longer than specified deadline"),
                    condition(
                        "Failed",
                        "DeadlineExceeded",
                        "Job was active longer than specified deadline"))
                .endStatus()
                .build(),
            Phase.FAILED,
            "failed (Failed): DeadlineExceeded: Job was active longer than specified deadline"),
        arguments(
            "failed by podFailurePolicy FailJob, only the interim condition so far",
            job()
                .withNewStatus()
                .withActive(1)
                .withConditions(
                    condition(
                        "FailureTarget",
                        "PodFailurePolicy",
                        "Container main for pod shop/db-migrate-x failed with exit code 42 matching FailJob rule at index 0"))
                .endStatus()
                .build(),
            Phase.FAILED,
            "failed (FailureTarget): PodFailurePolicy: Container main for pod shop/db-migrate-x failed with exit code 42"
                + " matching FailJob rule at index 0"),
        arguments(
            "Indexed with successPolicy met, pods of other indexes still terminating",
            job()
                .editSpec()
                .withCompletionMode("Indexed")
                .withCompletions(5)
                .withParallelism(5)
                .withNewSuccessPolicy()
                .addNewRule()
                .withSucceededIndexes("0")
                .endRule()
                .endSuccessPolicy()
                .endSpec()
                .withNewStatus()
                .withActive(4)
                .withSucceeded(1)
                .withCompletedIndexes("0")
                .withConditions(
                    condition("SuccessCriteriaMet", "SuccessPolicy", "Matched rules at index 0"))
                .endStatus()
                .build(),
            Phase.SUCCEEDED,
            "succeeded (SuccessCriteriaMet): SuccessPolicy: Matched rules at index 0"),
        arguments(
            "backoffLimitPerIndex: one index failed, the others still run",
            job()
                .editSpec()
                .withCompletionMode("Indexed")
                .withCompletions(3)
                .withBackoffLimitPerIndex(1)
                .endSpec()
                .withNewStatus()
                .withActive(2)
                .withFailed(2)
                .withFailedIndexes("1")
                .endStatus()
                .build(),
            Phase.RETRYING,
            "retrying (2 failed, backoffLimitPerIndex 1, failed indexes 1, 2 active, 0/3 succeeded)"),
        arguments(
            "backoffLimitPerIndex: failed indexes decided, Failed pending pod termination",
            job()
                .editSpec()
                .withCompletionMode("Indexed")
                .withCompletions(3)
                .withBackoffLimitPerIndex(1)
                .endSpec()
                .withNewStatus()
                .withFailed(2)
                .withSucceeded(2)
                .withFailedIndexes("1")
                .withConditions(
                    condition("FailureTarget", "FailedIndexes", "Job has failed indexes"))
                .endStatus()
                .build(),
            Phase.FAILED,
            "failed (FailureTarget): FailedIndexes: Job has failed indexes"),
        arguments(
            "suspended (queued by Kueue): waiting, not failed, even with 0 active and 0 failed",
            job()
                .editSpec()
                .withSuspend(true)
                .endSpec()
                .withNewStatus()
                .withConditions(condition("Suspended", "JobSuspended", "Job suspended"))
                .endStatus()
                .build(),
            Phase.SUSPENDED,
            "suspended"),
        arguments(
            "resumed: Suspended=False no longer holds it",
            job()
                .withNewStatus()
                .withActive(1)
                .withConditions(
                    new JobConditionBuilder()
                        .withType("Suspended")
                        .withStatus("False")
                        .withReason("JobResumed")
                        .withMessage("Job resumed")
                        .build())
                .endStatus()
                .build(),
            Phase.RUNNING,
            "running (1 active)"),
        arguments(
            "completions > 1: one success is not enough",
            job()
                .editSpec()
                .withCompletions(3)
                .withParallelism(1)
                .endSpec()
                .withNewStatus()
                .withActive(1)
                .withSucceeded(1)
                .endStatus()
                .build(),
            Phase.RUNNING,
            "running (1 active, 1/3 succeeded)"),
        arguments(
            "completions > 1: between pods, no pod active",
            job()
                .editSpec()
                .withCompletions(3)
                .endSpec()
                .withNewStatus()
                .withSucceeded(2)
                .endStatus()
                .build(),
            Phase.PENDING,
            "pending (2/3 succeeded)"),
        arguments(
            "interim SuccessCriteriaMet without Complete (1.31+): safe to start early",
            job()
                .withNewStatus()
                .withSucceeded(1)
                .withConditions(
                    condition(
                        "SuccessCriteriaMet",
                        "CompletionsReached",
                        "Reached expected number of succeeded pods"))
                .endStatus()
                .build(),
            Phase.SUCCEEDED,
            "succeeded (SuccessCriteriaMet): CompletionsReached: Reached expected number of succeeded pods"),
        arguments(
            "Complete without interim conditions (before 1.31)",
            job()
                .withNewStatus()
                .withSucceeded(1)
                .withConditions(condition("Complete", null, null))
                .endStatus()
                .build(),
            Phase.SUCCEEDED,
            "succeeded"),
        arguments(
            "Failed without interim conditions (before 1.31)",
            job()
                .withNewStatus()
                .withFailed(7)
                .withConditions(
                    condition(
                        "Failed",
                        "BackoffLimitExceeded",
                        "Job has reached the specified backoff limit"))
                .endStatus()
                .build(),
            Phase.FAILED,
            "failed (Failed): BackoffLimitExceeded: Job has reached the specified backoff limit"),
        arguments(
            "conditions with status False decide nothing",
            job()
                .withNewStatus()
                .withActive(1)
                .withConditions(
                    new JobConditionBuilder().withType("Complete").withStatus("False").build(),
                    new JobConditionBuilder().withType("Failed").withStatus("False").build())
                .endStatus()
                .build(),
            Phase.RUNNING,
            "running (1 active)"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("jobs")
  void judgesJobFromItsConditions(String situation, Job job, Phase phase, String line) {
    JobVerdict verdict = JobVerdict.of(snapshot(job), null);
    assertEquals(phase, verdict.phase(), situation);
    assertEquals(line, verdict.line(), situation);
  }

  @Test
  void failureReportsTheConditionsReasonAndMessage() {
    Job failed =
        job()
            .withNewStatus()
            .withConditions(
                condition(
                    "FailureTarget",
                    "BackoffLimitExceeded",
                    "Job has reached the specified backoff limit"),
                condition(
                    "Failed",
                    "BackoffLimitExceeded",
                    "Job has reached the specified backoff limit"))
            .endStatus()
            .build();
    JobVerdict verdict = JobVerdict.of(snapshot(failed), null);
    assertEquals("BackoffLimitExceeded", verdict.reason());
    assertEquals("Job has reached the specified backoff limit", verdict.message());
    assertEquals(
        "BackoffLimitExceeded: Job has reached the specified backoff limit", verdict.cause());
    assertTrue(verdict.phase().isTerminal());
  }

  @Test
  void aCompleteJobOfAnotherRevisionIsADifferentRunNotASuccess() {
    Job previousRelease = completeJob("41");
    JobVerdict verdict = JobVerdict.of(snapshot(previousRelease), "42");
    assertEquals(Phase.OTHER_REVISION, verdict.phase());
    assertEquals("a different run (revision 41, expecting 42) — waiting", verdict.line());
    assertFalse(verdict.phase().isTerminal());
  }

  @Test
  void aJobWithoutRevisionDoesNotMatchAnExpectedRevision() {
    JobVerdict verdict = JobVerdict.of(snapshot(completeJob(null)), "42");
    assertEquals(Phase.OTHER_REVISION, verdict.phase());
    assertEquals("a different run (no revision, expecting 42) — waiting", verdict.line());
  }

  @Test
  void theMatchingRevisionIsJudgedNormally() {
    assertEquals(Phase.SUCCEEDED, JobVerdict.of(snapshot(completeJob("42")), "42").phase());
  }

  @Test
  void withoutAnExpectedRevisionAnyRunCounts() {
    assertEquals(Phase.SUCCEEDED, JobVerdict.of(snapshot(completeJob("41")), null).phase());
    assertEquals(Phase.SUCCEEDED, JobVerdict.of(snapshot(completeJob("41")), " ").phase());
  }

  private static Job completeJob(String revision) {
    JobBuilder builder = job();
    if (revision != null) {
      builder
          .editMetadata()
          .addToAnnotations(JobVerdict.REVISION_ANNOTATION, revision)
          .endMetadata();
    }
    return builder
        .withNewStatus()
        .withSucceeded(1)
        .withConditions(
            condition(
                "Complete", "CompletionsReached", "Reached expected number of succeeded pods"))
        .endStatus()
        .build();
  }

  private static JobBuilder job() {
    return new JobBuilder()
        .withNewMetadata()
        .withNamespace("shop")
        .withName("db-migrate")
        .withUid("0b1c7c1e-2f4a-4d5e-9d5c-1a2b3c4d5e6f")
        .endMetadata()
        .withNewSpec()
        .endSpec();
  }

  private static io.fabric8.kubernetes.api.model.batch.v1.JobCondition condition(
      String type, String reason, String message) {
    return new JobConditionBuilder()
        .withType(type)
        .withStatus("True")
        .withReason(reason)
        .withMessage(message)
        .build();
  }
}
