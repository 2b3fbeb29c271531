package io.migrategate.gate.waitapi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.batch.v1.JobBuilder;
import io.migrategate.wait.WaiterMain;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The waiter's gate mode (module waiter) against the gate's wait API (module webhook), both real,
 * in one JVM: the contract between the two, without a cluster.
 */
class GateModeContractTest {
  private static final Duration DEADLINE = Duration.ofSeconds(20);

  @TempDir Path dir;
  private final WaitApiServer gate;
  private final ByteArrayOutputStream out = new ByteArrayOutputStream();
  private final ByteArrayOutputStream err = new ByteArrayOutputStream();

  GateModeContractTest() throws Exception {
    gate = new WaitApiServer(Duration.ofSeconds(15));
    gate.allow("shop-token", "shop", "app");
  }

  @AfterEach
  void close() throws Exception {
    gate.close();
  }

  @Test
  void exitsZeroWhenTheRunningJobSucceeds() throws Exception {
    gate.tracker.upserted(job("migrate", "uid-1", null));
    CompletableFuture<Integer> waiter = start("shop-token", "shop", "migrate");
    await("the waiter logged the running Job", () -> log().contains("event=running"));
    gate.tracker.upserted(job("migrate", "uid-1", "Complete"));
    assertEquals(0, waiter.get(20, TimeUnit.SECONDS), log());
    assertTrue(log().contains("event=succeeded"), log());
    assertFalse(Files.exists(dir.resolve("termination-log")), "nothing to report on success");
  }

  @Test
  void exitsTwoWithTheReasonWhenAJobFails() throws Exception {
    gate.tracker.upserted(job("schema", "uid-1", "Complete"));
    gate.tracker.upserted(job("seed", "uid-2", "Failed"));
    assertEquals(2, start("shop-token", "shop", "schema,seed").get(20, TimeUnit.SECONDS), log());
    assertEquals(
        "job shop/seed failed: BackoffLimitExceeded: Job has reached the specified backoff limit",
        terminationLog());
  }

  @Test
  void aSuccessFromTheLedgerPasses() throws Exception {
    Job done = job("migrate", "uid-1", "Complete");
    gate.tracker.upserted(done);
    gate.tracker.deleted(done);
    assertEquals(0, start("shop-token", "shop", "migrate").get(20, TimeUnit.SECONDS), log());
    assertTrue(log().contains("recorded by the gate"), log());
  }

  @Test
  void aRejectedTokenExitsFourWithoutPrintingTheToken() throws Exception {
    gate.tokens.put("stale-token", new TokenReviewer.Result.Rejected("the token has expired"));
    assertEquals(4, start("stale-token", "shop", "migrate").get(20, TimeUnit.SECONDS), log());
    String reason = terminationLog();
    assertTrue(reason.startsWith("unauthenticated: the gate at " + gate.url()), reason);
    assertTrue(reason.contains("HTTP 401"), reason);
    assertTrue(reason.contains("not valid for audience migrate-gate"), reason);
    assertFalse(reason.contains("the token has expired"), "the cause stays in the gate's log");
    assertFalse(log().contains("stale-token") || reason.contains("stale-token"));
  }

  @Test
  void aReauthenticateNoticeMakesTheWaiterReconnectWithItsRefreshedToken() throws Exception {
    try (WaitApiServer rechecking =
        new WaitApiServer(
            Duration.ofSeconds(15), new WaitApi.StreamLimits(64, Duration.ofSeconds(1)))) {
      rechecking.allow("first-token", "shop", "app");
      rechecking.tracker.upserted(job("migrate", "uid-1", null));
      CompletableFuture<Integer> waiter = start(rechecking, "first-token", "shop", "migrate");
      await("the waiter logged the running Job", () -> log().contains("event=running"));
      // The kubelet refreshed the projected token; the old one is revoked (e.g. expired).
      rechecking.allow("refreshed-token", "shop", "app");
      Files.writeString(dir.resolve("token"), "refreshed-token\n");
      rechecking.tokens.put("first-token", new TokenReviewer.Result.Rejected("expired"));
      await(
          "the gate ended the stream for re-authentication",
          () -> log().contains("event=gate_reauthenticate"));
      rechecking.tracker.upserted(job("migrate", "uid-1", "Complete"));
      assertEquals(0, waiter.get(20, TimeUnit.SECONDS), log());
      assertFalse(log().contains("first-token") || log().contains("refreshed-token"));
    }
  }

  @Test
  void aWaiterBeyondItsServiceAccountsStreamBoundRetriesUntilThereIsRoom() throws Exception {
    try (WaitApiServer bounded =
        new WaitApiServer(
            Duration.ofSeconds(15), new WaitApi.StreamLimits(1, Duration.ofMinutes(5)))) {
      bounded.allow("shop-token", "shop", "app");
      bounded.tracker.upserted(job("migrate", "uid-1", null));
      CompletableFuture<Integer> first = start(bounded, "shop-token", "shop", "migrate");
      await("the first waiter logged the running Job", () -> log().contains("event=running"));
      CompletableFuture<Integer> second =
          start(bounded, "shop-token", "shop", "migrate", dir.resolve("second"));
      await("the second waiter was refused for now", () -> log().contains("HTTP 429"));
      bounded.tracker.upserted(job("migrate", "uid-1", "Complete"));
      assertEquals(0, first.get(20, TimeUnit.SECONDS), log());
      assertEquals(0, second.get(20, TimeUnit.SECONDS), log());
    }
  }

  @Test
  void anotherNamespaceExitsFour() throws Exception {
    assertEquals(4, start("shop-token", "bank", "migrate").get(20, TimeUnit.SECONDS), log());
    assertTrue(
        terminationLog()
            .contains("ServiceAccount shop/app may only ask about Jobs in namespace shop"),
        terminationLog());
  }

  @Test
  void reconnectsWithAFreshTokenWhenTheGateRestarts() throws Exception {
    gate.tracker.upserted(job("migrate", "uid-1", null));
    CompletableFuture<Integer> waiter = start("shop-token", "shop", "migrate");
    await("the waiter logged the running Job", () -> log().contains("event=running"));
    gate.stop();
    await("the waiter noticed the gate going away", () -> log().contains("event=connection_lost"));
    // The kubelet rotated the token meanwhile; the old one is no longer accepted.
    gate.tokens.remove("shop-token");
    gate.allow("rotated-token", "shop", "app");
    Files.writeString(dir.resolve("token"), "rotated-token\n");
    gate.tracker.upserted(job("migrate", "uid-1", "Complete"));
    gate.start();
    assertEquals(0, waiter.get(20, TimeUnit.SECONDS), log());
    assertTrue(log().contains("event=gate_stopping"), log());
    assertTrue(log().contains("event=reconnected"), log());
  }

  @Test
  void waitsForAGateThatIsNotUpYet() throws Exception {
    gate.stop();
    gate.tracker.upserted(job("migrate", "uid-1", "Complete"));
    CompletableFuture<Integer> waiter = start("shop-token", "shop", "migrate");
    await("the waiter reports the gate unreachable", () -> log().contains("event=connection_lost"));
    gate.start();
    assertEquals(0, waiter.get(20, TimeUnit.SECONDS), log());
  }

  @Test
  void aMissingTokenFileIsAUsageErrorNamingTheFile() throws Exception {
    int code =
        WaiterMain.run(
            List.of(
                "--namespace", "shop",
                "--job", "migrate",
                "--gate-url", gate.url(),
                "--token-file", dir.resolve("absent").toString(),
                "--termination-log", dir.resolve("termination-log").toString()),
            Map.of("MIGRATE_GATE_CA", gate.caPem()),
            new PrintStream(out, true, StandardCharsets.UTF_8),
            new PrintStream(err, true, StandardCharsets.UTF_8));
    assertEquals(64, code);
    assertTrue(terminationLog().contains(dir.resolve("absent").toString()), terminationLog());
  }

  // --- helpers -----------------------------------------------------------------------------------

  /** The waiter as the webhook injects it: env only, CA as PEM, token in a file. */
  private CompletableFuture<Integer> start(String token, String namespace, String jobs)
      throws Exception {
    return start(gate, token, namespace, jobs);
  }

  private CompletableFuture<Integer> start(
      WaitApiServer target, String token, String namespace, String jobs) throws Exception {
    return start(target, token, namespace, jobs, dir);
  }

  /** A waiter with its token and termination log in {@code files}. */
  private CompletableFuture<Integer> start(
      WaitApiServer target, String token, String namespace, String jobs, Path files)
      throws Exception {
    Files.createDirectories(files);
    Path tokenFile = Files.writeString(files.resolve("token"), token + "\n");
    List<String> args = new ArrayList<>();
    Map<String, String> env =
        Map.of(
            "MIGRATE_GATE_NAMESPACE", namespace,
            "MIGRATE_GATE_JOBS", jobs,
            "MIGRATE_GATE_URL", target.url(),
            "MIGRATE_GATE_CA", target.caPem(),
            "MIGRATE_GATE_TOKEN_FILE", tokenFile.toString(),
            "MIGRATE_GATE_TERMINATION_LOG", files.resolve("termination-log").toString(),
            "MIGRATE_GATE_TIMEOUT", "60s");
    return CompletableFuture.supplyAsync(
        () ->
            WaiterMain.run(
                args,
                env,
                new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8)));
  }

  private String log() {
    return out.toString(StandardCharsets.UTF_8) + err.toString(StandardCharsets.UTF_8);
  }

  private String terminationLog() throws Exception {
    return Files.readString(dir.resolve("termination-log")).trim();
  }

  private static void await(String what, BooleanSupplier condition) {
    long deadline = System.nanoTime() + DEADLINE.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("timed out waiting for: " + what);
      }
      try {
        Thread.sleep(10);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError("interrupted waiting for: " + what);
      }
    }
  }

  private static Job job(String name, String uid, String condition) {
    JobBuilder job =
        new JobBuilder()
            .withNewMetadata()
            .withNamespace("shop")
            .withName(name)
            .withUid(uid)
            .withCreationTimestamp(Instant.now().toString())
            .endMetadata()
            .withNewSpec()
            .withBackoffLimit(0)
            .endSpec();
    if (condition == null) {
      return job.withNewStatus().withActive(1).endStatus().build();
    }
    boolean failed = condition.equals("Failed");
    return job.withNewStatus()
        .addNewCondition()
        .withType(condition)
        .withStatus("True")
        .withReason(failed ? "BackoffLimitExceeded" : "CompletionsReached")
        .withMessage(failed ? "Job has reached the specified backoff limit" : null)
        .withLastTransitionTime(Instant.now().toString())
        .endCondition()
        .endStatus()
        .build();
  }
}
