package io.migrategate.gate.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.migrategate.core.JobVerdictTest;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** The gate reads an informer's Job as the waiter reads the same Job's JSON. */
class CompactJobsTest {

  static Stream<Arguments> jobs() {
    return JobVerdictTest.jobs();
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("jobs")
  void theGateAndTheWaiterReadAJobAlike(String situation, Job job) {
    assertEquals(JobVerdictTest.snapshot(job), CompactJobs.snapshot(job), situation);
    assertEquals(
        JobVerdictTest.snapshot(job),
        CompactJobs.snapshot(CompactJobs.compact(job)),
        situation + " (compacted)");
  }

  @Test
  void aCompactJobIsKeptOnceWithWhatTheVerdictAndTheLedgerRead() {
    Job job =
        new io.fabric8.kubernetes.api.model.batch.v1.JobBuilder()
            .withNewMetadata()
            .withName("migrate")
            .withNamespace("shop")
            .withUid("u1")
            .addToLabels("app", "shop")
            .addToAnnotations("migrate.io/revision", "v2")
            .addToAnnotations("kubectl.kubernetes.io/last-applied-configuration", "{...}")
            .endMetadata()
            .withNewSpec()
            .withNewTemplate()
            .withNewSpec()
            .addNewContainer()
            .withName("migrate")
            .withImage("registry.example/migrate:2")
            .endContainer()
            .endSpec()
            .endTemplate()
            .endSpec()
            .withNewStatus()
            .withSucceeded(1)
            .withCompletionTime("2026-01-01T10:00:00Z")
            .addNewCondition()
            .withType("Complete")
            .withStatus("True")
            .withLastProbeTime("2026-01-01T10:00:00Z")
            .withLastTransitionTime("2026-01-01T10:00:00Z")
            .endCondition()
            .withNewUncountedTerminatedPods()
            .endUncountedTerminatedPods()
            .endStatus()
            .build();
    Job compact = CompactJobs.compact(job);
    // The informer's store and the tracker share this instance: compacting it again keeps it.
    assertSame(compact, CompactJobs.compact(compact));
    assertNull(compact.getSpec().getTemplate(), "no pod template");
    assertEquals(
        java.util.Map.of("migrate.io/revision", "v2"), compact.getMetadata().getAnnotations());
    assertEquals("2026-01-01T10:00:00Z", compact.getStatus().getCompletionTime());
    assertEquals(
        "2026-01-01T10:00:00Z", compact.getStatus().getConditions().get(0).getLastTransitionTime());
    assertNull(compact.getStatus().getConditions().get(0).getLastProbeTime());
    assertNull(compact.getStatus().getUncountedTerminatedPods());
    assertSame(
        compact.getMetadata().getNamespace(),
        CompactJobs.compact(
                new io.fabric8.kubernetes.api.model.batch.v1.JobBuilder(job)
                    .editMetadata()
                    .withNamespace(new String("shop"))
                    .endMetadata()
                    .build())
            .getMetadata()
            .getNamespace(),
        "one String per namespace");
    assertEquals(java.util.Map.of(), compact.getMetadata().getLabels(), "no labels");
  }

  @Test
  void repeatedValuesAreKeptOnceAndAnOwningCronJobIsStillRecognized() {
    java.util.function.Function<String, Job> failedRun =
        message ->
            new io.fabric8.kubernetes.api.model.batch.v1.JobBuilder()
                .withNewMetadata()
                .withName("nightly-29000000")
                .withNamespace("batch")
                .addNewOwnerReference()
                .withApiVersion(new String("batch/v1"))
                .withKind(new String("CronJob"))
                .withName("nightly")
                .withUid("c1")
                .withController(true)
                .endOwnerReference()
                .endMetadata()
                .withNewStatus()
                .addNewCondition()
                .withType(new String("Failed"))
                .withStatus(new String("True"))
                .withReason(new String("BackoffLimitExceeded"))
                .withMessage(message)
                .endCondition()
                .endStatus()
                .build();
    Job one = CompactJobs.compact(failedRun.apply(new String("Job has reached the backoff limit")));
    Job two = CompactJobs.compact(failedRun.apply(new String("Job has reached the backoff limit")));
    assertTrue(CompactJobs.isCronJobRun(one), "the CronJob owner is kept");
    var first = one.getStatus().getConditions().get(0);
    var second = two.getStatus().getConditions().get(0);
    assertSame(first.getReason(), second.getReason());
    assertSame(first.getMessage(), second.getMessage());
    assertSame(
        one.getMetadata().getOwnerReferences().get(0).getKind(),
        two.getMetadata().getOwnerReferences().get(0).getKind());
    // A message too long to be a shared phrase (it names pods, say) is kept, not shared.
    String unique = "x".repeat(CompactJobs.MAX_SHARED_LENGTH + 1);
    assertEquals(
        unique,
        CompactJobs.compact(failedRun.apply(unique))
            .getStatus()
            .getConditions()
            .get(0)
            .getMessage());
    assertNotSame(unique, CompactJobs.shared(new String(unique)));
  }
}
