package io.migrategate.gate.admission;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.batch.v1.JobBuilder;
import io.migrategate.gate.jobs.JobTracker;
import io.migrategate.gate.ledger.InMemorySuccessLedger;
import io.vertx.core.Vertx;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The admission fast path passes a pod without a waiter only on a success the API server confirms:
 * the tracker's watch may not yet have delivered a re-run of the same name.
 */
class ConfirmedJobStatusTest {
  private final JobTracker tracker =
      new JobTracker(new InMemorySuccessLedger(true), Clock.systemUTC());

  /** The API server's Jobs now: "namespace/name" → uid. */
  private final Map<String, String> apiServer = new ConcurrentHashMap<>();

  private final List<String> reads = new ArrayList<>();
  private final ConfirmedJobStatus status =
      new ConfirmedJobStatus(
          tracker,
          (namespace, name) -> {
            reads.add(namespace + "/" + name);
            return Optional.ofNullable(apiServer.get(namespace + "/" + name));
          });

  ConfirmedJobStatusTest() {
    tracker.jobsSynced();
  }

  @Test
  void aLiveSuccessTheApiServerStillHasPasses() {
    tracker.upserted(complete("migrate", "uid-1"));
    apiServer.put("shop/migrate", "uid-1");
    assertTrue(status.allSucceeded("shop", List.of("migrate"), null));
    assertEquals(List.of("shop/migrate"), reads);
  }

  @Test
  void aRecordedSuccessOfADeletedJobPasses() {
    Job done = complete("migrate", "uid-1");
    tracker.upserted(done);
    tracker.deleted(done);
    assertTrue(status.allSucceeded("shop", List.of("migrate"), null));
  }

  @Test
  void aReRunTheTrackerHasNotSeenYetGetsTheWaiter() {
    Job done = complete("migrate", "uid-1");
    tracker.upserted(done);
    tracker.deleted(done);
    apiServer.put("shop/migrate", "uid-2");
    assertFalse(status.allSucceeded("shop", List.of("migrate"), null));
  }

  @Test
  void oneNewerRunAmongSeveralJobsGetsTheWaiter() {
    tracker.upserted(complete("schema", "uid-s"));
    tracker.upserted(complete("seed", "uid-1"));
    apiServer.put("shop/schema", "uid-s");
    apiServer.put("shop/seed", "uid-2");
    assertFalse(status.allSucceeded("shop", List.of("schema", "seed"), null));
  }

  @Test
  void aFailedReadGetsTheWaiter() {
    tracker.upserted(complete("migrate", "uid-1"));
    ConfirmedJobStatus unreachable =
        new ConfirmedJobStatus(
            tracker,
            (namespace, name) -> {
              throw new IllegalStateException("connect timed out");
            });
    assertFalse(unreachable.allSucceeded("shop", List.of("migrate"), null));
  }

  @Test
  void nothingIsReadWhenTheTrackerDoesNotKnowOfASuccess() {
    tracker.upserted(running("migrate", "uid-1"));
    assertFalse(status.allSucceeded("shop", List.of("migrate"), null));
    assertFalse(status.allSucceeded("shop", List.of("unknown"), null));
    assertEquals(List.of(), reads);
  }

  @Test
  void onAnEventLoopTheReadAsksForAWorker() throws Exception {
    tracker.upserted(complete("migrate", "uid-1"));
    Vertx vertx = Vertx.vertx();
    try {
      CompletableFuture<Object> onLoop = new CompletableFuture<>();
      vertx.runOnContext(
          ignored -> {
            try {
              onLoop.complete(status.allSucceeded("shop", List.of("migrate"), null));
            } catch (RuntimeException e) {
              onLoop.complete(e);
            }
          });
      assertInstanceOf(WouldBlockException.class, onLoop.get(10, TimeUnit.SECONDS));
      assertEquals(List.of(), reads, "no read from the event loop");
    } finally {
      vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }
  }

  private static Job running(String name, String uid) {
    return job(name, uid).withNewStatus().withActive(1).endStatus().build();
  }

  private static Job complete(String name, String uid) {
    return job(name, uid)
        .withNewStatus()
        .withSucceeded(1)
        .addNewCondition()
        .withType("Complete")
        .withStatus("True")
        .withReason("CompletionsReached")
        .withLastTransitionTime("2026-01-01T10:01:00Z")
        .endCondition()
        .endStatus()
        .build();
  }

  private static JobBuilder job(String name, String uid) {
    return new JobBuilder()
        .withNewMetadata()
        .withNamespace("shop")
        .withName(name)
        .withUid(uid)
        .withResourceVersion("1")
        .withCreationTimestamp("2026-01-01T10:00:00Z")
        .endMetadata()
        .withNewSpec()
        .endSpec();
  }
}
