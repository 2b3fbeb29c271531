package io.migrategate.gate.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.batch.v1.JobBuilder;
import io.migrategate.core.JobSetVerdict;
import io.migrategate.core.JobVerdict;
import io.migrategate.core.JobVerdict.Phase;
import io.migrategate.gate.jobs.JobLookup.Source;
import io.migrategate.gate.ledger.InMemorySuccessLedger;
import io.migrategate.gate.ledger.LedgerEntry;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class JobTrackerTest {
  static final Clock CLOCK = Clock.fixed(Instant.parse("2026-01-01T12:00:00Z"), ZoneOffset.UTC);

  private final InMemorySuccessLedger ledger = new InMemorySuccessLedger(true);
  private final JobTracker tracker = new JobTracker(ledger, CLOCK);

  JobTrackerTest() {
    tracker.jobsSynced();
  }

  @Test
  void aLiveJobIsJudgedWithTheWaitersVerdict() {
    tracker.upserted(running("migrate", "uid-1", "2026-01-01T10:00:00Z", null));
    JobLookup answer = tracker.lookup("shop", "migrate", null);
    assertEquals(Source.LIVE, answer.source());
    assertEquals(Phase.RUNNING, answer.phase());
    assertEquals("running (1 active)", answer.line());
    assertEquals("uid-1", answer.uid());
  }

  @Test
  void aSuccessSurvivesTheJobsDeletion() {
    Job done = complete("migrate", "uid-1", "2026-01-01T10:00:00Z", "42");
    tracker.upserted(done);
    tracker.deleted(done);
    JobLookup answer = tracker.lookup("shop", "migrate", "42");
    assertEquals(Source.LEDGER, answer.source());
    assertEquals(Phase.SUCCEEDED, answer.phase());
    assertTrue(answer.line().startsWith("succeeded (recorded by the gate at 2026-01-01T10:01:00Z"));
    assertTrue(tracker.allSucceeded("shop", List.of("migrate"), "42"));
  }

  @Test
  void aSuccessSeenOnlyInTheDeleteEventIsRecorded() {
    // TTL 0: the gate saw the Job running, then only its deletion (final state: complete).
    tracker.upserted(running("migrate", "uid-1", "2026-01-01T10:00:00Z", null));
    tracker.deleted(complete("migrate", "uid-1", "2026-01-01T10:00:00Z", null));
    assertEquals(Phase.SUCCEEDED, tracker.lookup("shop", "migrate", null).phase());
    assertEquals(1, ledger.recorded().size());
  }

  @Test
  void aLiveJobWinsOverTheLedger() {
    ledger.record(success("migrate", "uid-1", "2026-01-01T09:00:00Z", null));
    tracker.upserted(running("migrate", "uid-2", "2026-01-01T10:00:00Z", null));
    JobLookup answer = tracker.lookup("shop", "migrate", null);
    assertEquals(Source.LIVE, answer.source());
    assertEquals(Phase.RUNNING, answer.phase());
    assertFalse(tracker.allSucceeded("shop", List.of("migrate"), null));
  }

  @Test
  void anOlderRunsSuccessNeverPassesANewerRunEvenAfterTheNewerOneIsDeleted() {
    Job run1 = complete("migrate", "uid-1", "2026-01-01T09:00:00Z", null);
    tracker.upserted(run1);
    tracker.deleted(run1);
    Job run2 = running("migrate", "uid-2", "2026-01-01T10:00:00Z", null);
    tracker.upserted(run2);
    tracker.deleted(run2); // e.g. failed and cleaned up, or replaced again
    JobLookup answer = tracker.lookup("shop", "migrate", null);
    assertEquals(Source.NONE, answer.source());
    assertNull(answer.verdict());
    assertTrue(answer.line().contains("uid-2"), answer.line());
  }

  @Test
  void aRecordedSuccessOfAnotherRevisionKeepsThePodWaiting() {
    Job run = complete("migrate", "uid-1", "2026-01-01T09:00:00Z", "41");
    tracker.upserted(run);
    tracker.deleted(run);
    JobLookup answer = tracker.lookup("shop", "migrate", "42");
    assertEquals(Phase.OTHER_REVISION, answer.phase());
    assertEquals(
        "a different run (revision 41 succeeded and was deleted, expecting 42) — waiting",
        answer.line());
    assertFalse(tracker.allSucceeded("shop", List.of("migrate"), "42"));
    assertTrue(tracker.allSucceeded("shop", List.of("migrate"), null));
  }

  @Test
  void allJobsMustHaveSucceededAndOneFailureFailsThemAll() {
    tracker.upserted(complete("schema", "u1", "2026-01-01T09:00:00Z", null));
    assertFalse(tracker.allSucceeded("shop", List.of("schema", "seed"), null));
    tracker.upserted(failed("seed", "u2"));
    JobSetVerdict verdict =
        JobTracker.verdictOf(tracker.lookupAll("shop", List.of("schema", "seed"), null));
    assertEquals(JobSetVerdict.Outcome.FAILED, verdict.outcome());
    assertEquals("seed", verdict.decidingJob());
  }

  @Test
  void nothingIsKnownBeforeJobsAndLedgerHaveBeenRead() {
    InMemorySuccessLedger loading = new InMemorySuccessLedger(false);
    JobTracker fresh = new JobTracker(loading, CLOCK);
    AtomicInteger calls = new AtomicInteger();
    fresh.subscribe("shop", List.of("migrate"), calls::incrementAndGet);
    fresh.upserted(complete("migrate", "u1", "2026-01-01T09:00:00Z", null));
    assertFalse(fresh.allSucceeded("shop", List.of("migrate"), null), "not ready yet");
    fresh.jobsSynced();
    assertFalse(fresh.isReady(), "the ledger is still loading");
    int before = calls.get();
    loading.markLoaded();
    assertTrue(fresh.isReady());
    assertTrue(calls.get() > before, "subscribers hear that the tracker became ready");
    assertTrue(fresh.allSucceeded("shop", List.of("migrate"), null));
  }

  @Test
  void subscribersHearAboutTheirJobsOnlyUntilTheyClose() {
    AtomicInteger migrate = new AtomicInteger();
    AtomicInteger other = new AtomicInteger();
    JobTracker.Subscription subscription =
        tracker.subscribe("shop", List.of("migrate"), migrate::incrementAndGet);
    tracker.subscribe("shop", List.of("other"), other::incrementAndGet);
    tracker.upserted(running("migrate", "u1", "2026-01-01T09:00:00Z", null));
    assertTrue(migrate.get() >= 1);
    assertEquals(0, other.get());
    subscription.close();
    int seen = migrate.get();
    tracker.upserted(complete("migrate", "u1", "2026-01-01T09:00:00Z", null));
    assertEquals(seen, migrate.get());
    assertEquals(1, tracker.subscriptions());
  }

  @Test
  void anOlderStateOfTheSameJobDeliveredLateIsIgnored() {
    // At sync the tracker is fed from the informer's store; the handler may then deliver older
    // states of the same Job.
    Job done = withVersion(complete("migrate", "u1", "2026-01-01T09:00:00Z", null), "20");
    tracker.upserted(done);
    tracker.upserted(withVersion(running("migrate", "u1", "2026-01-01T09:00:00Z", null), "10"));
    assertEquals(Phase.SUCCEEDED, tracker.lookup("shop", "migrate", null).phase());
    // A new run under the name is never "older", whatever its version.
    tracker.upserted(withVersion(running("migrate", "u2", "2026-01-01T10:00:00Z", null), "5"));
    assertEquals(Phase.RUNNING, tracker.lookup("shop", "migrate", null).phase());
  }

  private static Job withVersion(Job job, String resourceVersion) {
    return new JobBuilder(job)
        .editMetadata()
        .withResourceVersion(resourceVersion)
        .endMetadata()
        .build();
  }

  @Test
  void cronJobRunsAreTrackedButNotRecorded() {
    Job run =
        new JobBuilder(complete("report-28930", "u1", "2026-01-01T09:00:00Z", null))
            .editMetadata()
            .addNewOwnerReference()
            .withApiVersion("batch/v1")
            .withKind("CronJob")
            .withName("report")
            .withUid("cron-uid")
            .withController(true)
            .endOwnerReference()
            .endMetadata()
            .build();
    tracker.upserted(run);
    assertEquals(Phase.SUCCEEDED, tracker.lookup("shop", "report-28930", null).phase());
    assertTrue(ledger.recorded().isEmpty());
  }

  @Test
  void theCacheHoldsNoPodTemplate() {
    tracker.upserted(running("migrate", "u1", "2026-01-01T09:00:00Z", null));
    Job compact = CompactJobs.compact(running("migrate", "u1", "2026-01-01T09:00:00Z", null));
    assertNull(compact.getSpec().getTemplate());
    assertTrue(compact.getMetadata().getLabels().isEmpty());
  }

  @Test
  void aRunMissedWhileNoGateWatchedSupersedesTheSuccessBeforeIt() {
    Job run1 = complete("migrate", "uid-1", "2026-01-01T10:00:00Z", null);
    tracker.upserted(run1);
    tracker.deleted(run1);
    // Replayed from the watch mark: run 2 was created, failed and deleted while no gate ran.
    Job run2 =
        new JobBuilder(failed("migrate", "uid-2"))
            .editMetadata()
            .withCreationTimestamp("2026-01-01T11:00:00Z")
            .endMetadata()
            .build();
    tracker.missed(running("migrate", "uid-2", "2026-01-01T11:00:00Z", null));
    tracker.missed(run2);
    JobLookup answer = tracker.lookup("shop", "migrate", null);
    assertEquals(Source.NONE, answer.source());
    assertEquals(
        "not found (its latest run, uid uid-2, was deleted before it succeeded)", answer.line());
    assertFalse(tracker.allSucceeded("shop", List.of("migrate"), null));
  }

  @Test
  void aMissedStateOfALiveJobChangesNothing() {
    tracker.upserted(running("migrate", "uid-1", "2026-01-01T10:00:00Z", null));
    // An older state of the same run, replayed: the live view is newer.
    tracker.missed(complete("migrate", "uid-1", "2026-01-01T10:00:00Z", null));
    assertEquals(Phase.RUNNING, tracker.lookup("shop", "migrate", null).phase());
    assertTrue(ledger.recorded().isEmpty(), "nothing recorded: " + ledger.recorded());
  }

  @Test
  void aDoubtedSuccessPassesNoPodUntilItsRunIsSeenAgain() {
    MovingClock clock = new MovingClock(Instant.parse("2026-01-01T12:00:00Z"));
    InMemorySuccessLedger doubtful = new InMemorySuccessLedger(true);
    JobTracker tracking = new JobTracker(doubtful, clock);
    tracking.jobsSynced();
    Job run1 = complete("migrate", "uid-1", "2026-01-01T10:00:00Z", null);
    tracking.upserted(run1);
    tracking.deleted(run1);

    clock.now = Instant.parse("2026-01-01T13:00:00Z");
    assertEquals(1, doubtful.doubt(clock.now), "the success recorded before the gap");
    JobLookup doubted = tracking.lookup("shop", "migrate", null);
    assertEquals(Source.NONE, doubted.source());
    assertEquals(
        "not found (its run uid-1 succeeded, but no gate watched Jobs for a while before"
            + " 2026-01-01T13:00:00Z: a newer run may have failed unseen, so that success passes"
            + " no pod; run the Job again)",
        doubted.line());
    assertFalse(tracking.allSucceeded("shop", List.of("migrate"), null));
    assertEquals(0, doubtful.doubt(clock.now), "doubting twice changes nothing");

    // The Job is seen again after the gap (still there, or run again): its success counts again.
    clock.now = Instant.parse("2026-01-01T13:00:05Z");
    tracking.upserted(run1);
    tracking.deleted(run1);
    JobLookup seenAgain = tracking.lookup("shop", "migrate", null);
    assertEquals(Source.LEDGER, seenAgain.source());
    assertEquals(Phase.SUCCEEDED, seenAgain.phase());
  }

  /** A clock the test moves. */
  private static final class MovingClock extends Clock {
    volatile Instant now;

    MovingClock(Instant now) {
      this.now = now;
    }

    @Override
    public Instant instant() {
      return now;
    }

    @Override
    public java.time.ZoneId getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(java.time.ZoneId zone) {
      return this;
    }
  }

  private static LedgerEntry success(String job, String uid, String created, String revision) {
    Instant at = Instant.parse(created);
    return new LedgerEntry("shop", job, uid, revision, at, at.plusSeconds(60), at.plusSeconds(61));
  }

  static Job running(String name, String uid, String created, String revision) {
    return base(name, uid, created, revision).withNewStatus().withActive(1).endStatus().build();
  }

  static Job complete(String name, String uid, String created, String revision) {
    String done = Instant.parse(created).plusSeconds(60).toString();
    return base(name, uid, created, revision)
        .withNewStatus()
        .withSucceeded(1)
        .addNewCondition()
        .withType("SuccessCriteriaMet")
        .withStatus("True")
        .withLastTransitionTime(done)
        .endCondition()
        .addNewCondition()
        .withType("Complete")
        .withStatus("True")
        .withReason("CompletionsReached")
        .withLastTransitionTime(done)
        .endCondition()
        .endStatus()
        .build();
  }

  static Job failed(String name, String uid) {
    return base(name, uid, "2026-01-01T09:00:00Z", null)
        .withNewStatus()
        .withFailed(1)
        .addNewCondition()
        .withType("Failed")
        .withStatus("True")
        .withReason("BackoffLimitExceeded")
        .withMessage("Job has reached the specified backoff limit")
        .endCondition()
        .endStatus()
        .build();
  }

  private static JobBuilder base(String name, String uid, String created, String revision) {
    JobBuilder job =
        new JobBuilder()
            .withNewMetadata()
            .withNamespace("shop")
            .withName(name)
            .withUid(uid)
            .withCreationTimestamp(created)
            .addToLabels("app", "migrate")
            .endMetadata()
            .withNewSpec()
            .withBackoffLimit(0)
            .withNewTemplate()
            .withNewSpec()
            .addNewContainer()
            .withName("migrate")
            .withImage("registry.example/migrate:1")
            .endContainer()
            .endSpec()
            .endTemplate()
            .endSpec();
    if (revision != null) {
      job.editMetadata().addToAnnotations(JobVerdict.REVISION_ANNOTATION, revision).endMetadata();
    }
    return job;
  }
}
