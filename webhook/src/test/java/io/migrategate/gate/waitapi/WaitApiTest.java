package io.migrategate.gate.waitapi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.batch.v1.JobBuilder;
import io.migrategate.core.JobVerdict;
import java.io.BufferedReader;
import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The wait API over HTTPS: status codes, messages, and the streamed lines a waiter reads. */
class WaitApiTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Duration LINE_DEADLINE = Duration.ofSeconds(10);

  private final WaitApiServer server;
  private final HttpClient client;

  WaitApiTest() throws Exception {
    server = new WaitApiServer(Duration.ofMillis(300));
    server.allow("shop-token", "shop", "app");
    client =
        HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .sslContext(trusting(server.caPem()))
            .build();
  }

  @AfterEach
  void close() throws Exception {
    server.close();
  }

  @Test
  void noTokenIs401WithAHint() throws Exception {
    HttpResponse<String> response = get("/wait/v1/namespaces/shop/jobs?names=migrate", null);
    assertEquals(401, response.statusCode());
    assertEquals(
        "Bearer realm=\"migrate-gate\"",
        response.headers().firstValue("WWW-Authenticate").orElse(""));
    assertTrue(message(response).contains("Authorization: Bearer"), response.body());
  }

  @Test
  void aRejectedTokenIs401WithTheSameBodyWhateverTheCause() throws Exception {
    server.tokens.put(
        "expired-token", new TokenReviewer.Result.Rejected("the token is not valid: expired"));
    server.tokens.put(
        "unbound-token",
        new TokenReviewer.Result.Rejected(
            "the token of x is not bound to a pod (internal detail)"));
    HttpResponse<String> expired =
        get("/wait/v1/namespaces/shop/jobs?names=migrate", "expired-token");
    HttpResponse<String> unbound =
        get("/wait/v1/namespaces/shop/jobs?names=migrate", "unbound-token");
    assertEquals(401, expired.statusCode());
    assertEquals(WaitApi.UNAUTHENTICATED, message(expired));
    assertEquals(expired.body(), unbound.body(), "the cause is logged, not told");
    assertFalse(expired.body().contains("expired-token"));
    assertFalse(unbound.body().contains("internal detail"));
  }

  @Test
  void anotherNamespaceIs403NamingBoth() throws Exception {
    HttpResponse<String> response =
        get("/wait/v1/namespaces/bank/jobs?names=migrate", "shop-token");
    assertEquals(403, response.statusCode());
    assertEquals(
        "forbidden: ServiceAccount shop/app may only ask about Jobs in namespace shop, not in bank",
        message(response));
  }

  @Test
  void aUserThatIsNotAServiceAccountIs403() throws Exception {
    server.tokens.put("alice", TokenReviewer.Result.Authenticated.of("alice", 0));
    HttpResponse<String> response = get("/wait/v1/namespaces/shop/jobs?names=migrate", "alice");
    assertEquals(403, response.statusCode());
    assertTrue(message(response).startsWith("forbidden: user alice is not a ServiceAccount"));
  }

  @Test
  void aReviewThatCannotBeMadeIs503WithoutItsInternalCause() throws Exception {
    server.tokens.put(
        "t", new TokenReviewer.Result.Unavailable("TokenReview failed: HTTP 500 from 10.0.0.1"));
    server.tokens.put("busy", new TokenReviewer.Result.Unavailable("busy: 8 in flight", true));
    HttpResponse<String> failed = get("/wait/v1/namespaces/shop/jobs?names=migrate", "t");
    HttpResponse<String> busy = get("/wait/v1/namespaces/shop/jobs?names=migrate", "busy");
    assertEquals(503, failed.statusCode());
    assertEquals(WaitApi.UNAVAILABLE, message(failed));
    assertFalse(failed.body().contains("HTTP 500") || failed.body().contains("10.0.0.1"));
    assertEquals(failed.body(), busy.body(), "one 503 body whatever the cause");
    assertEquals("1", failed.headers().firstValue("Retry-After").orElse(""));
  }

  @Test
  void oneServiceAccountMayOpenOnlySoManyStreams() throws Exception {
    try (WaitApiServer limited =
        new WaitApiServer(
            Duration.ofMillis(300), new WaitApi.StreamLimits(2, Duration.ofMinutes(5)))) {
      limited.allow("a", "shop", "app");
      limited.allow("b", "shop", "app");
      limited.allow("other", "shop", "other");
      limited.tracker.upserted(job("migrate", "uid-1", 1, null));
      try (Lines first = stream(limited, "/wait/v1/namespaces/shop/jobs?names=migrate", "a");
          Lines second = stream(limited, "/wait/v1/namespaces/shop/jobs?names=migrate", "b")) {
        first.next("job");
        second.next("job");
        HttpResponse<String> third =
            get(limited, "/wait/v1/namespaces/shop/jobs?names=migrate", "a");
        assertEquals(429, third.statusCode(), third.body());
        assertEquals(WaitApi.TOO_MANY_STREAMS, message(third));
        assertEquals("5", third.headers().firstValue("Retry-After").orElse(""));
        // Another ServiceAccount of the same namespace is not affected.
        try (Lines other =
            stream(limited, "/wait/v1/namespaces/shop/jobs?names=migrate", "other")) {
          other.next("job");
        }
        String metrics = limited.api().renderMetrics();
        assertTrue(metrics.contains("migrate_gate_wait_requests_total{code=\"429\"} 1"), metrics);
        assertTrue(
            metrics.contains("migrate_gate_wait_streams_busiest_service_account 2"), metrics);
      }
      // Once a stream ends, its place is free again.
      await(() -> !limited.api().renderMetrics().contains("migrate_gate_wait_streams 2"));
      try (Lines again = stream(limited, "/wait/v1/namespaces/shop/jobs?names=migrate", "a")) {
        again.next("job");
      }
    }
  }

  @Test
  void aStreamEndsWithAReauthenticateNoticeAMinuteBeforeItsTokenExpires() throws Exception {
    long exp = System.currentTimeMillis() / 1000 + WaitApi.EXPIRY_MARGIN.toSeconds() + 2;
    server.tokens.put(
        "short-lived",
        TokenReviewer.Result.Authenticated.of("system:serviceaccount:shop:app", "web-1", exp));
    server.tracker.upserted(job("migrate", "uid-1", 1, null));
    long started = System.nanoTime();
    try (Lines lines = stream("/wait/v1/namespaces/shop/jobs?names=migrate", "short-lived")) {
      lines.next("job");
      JsonNode notice = lines.next("notice");
      assertEquals("reauthenticate", notice.path("event").asText());
      assertTrue(lines.ended(), "the stream ends after the notice");
    }
    long tookMillis = (System.nanoTime() - started) / 1_000_000;
    assertTrue(tookMillis < 5_000, "ended " + tookMillis + " ms after the start");
    assertTrue(
        server
            .api()
            .renderMetrics()
            .contains("migrate_gate_wait_reauthentications_total{result=\"expiring\"} 1"));
  }

  @Test
  void anOpenStreamIsReauthenticatedAndEndsOnceItsTokenIsRevoked() throws Exception {
    try (WaitApiServer checking =
        new WaitApiServer(
            Duration.ofMillis(300), new WaitApi.StreamLimits(64, Duration.ofSeconds(1)))) {
      checking.allow("pod-token", "shop", "app");
      checking.tracker.upserted(job("migrate", "uid-1", 1, null));
      try (Lines lines =
          stream(checking, "/wait/v1/namespaces/shop/jobs?names=migrate", "pod-token")) {
        lines.next("job");
        await(() -> checking.reviews.get() >= 3);
        assertFalse(lines.hasEnded(), "still valid: the stream goes on");
        // An API server that cannot answer does not end a stream.
        checking.tokens.put("pod-token", new TokenReviewer.Result.Unavailable("API down"));
        await(
            () ->
                checking
                    .api()
                    .renderMetrics()
                    .contains("migrate_gate_wait_reauthentications_total{result=\"unavailable\"}"));
        assertFalse(lines.hasEnded(), "an outage keeps the stream");
        // The pod was deleted: its bound token is no longer valid.
        checking.tokens.put("pod-token", new TokenReviewer.Result.Rejected("pod deleted"));
        JsonNode notice = lines.next("notice");
        assertEquals("reauthenticate", notice.path("event").asText());
        assertTrue(lines.ended(), "the stream ends after the notice");
      }
      String metrics = checking.api().renderMetrics();
      assertTrue(
          metrics.contains("migrate_gate_wait_reauthentications_total{result=\"rejected\"} 1"),
          metrics);
      assertTrue(metrics.contains("migrate_gate_wait_streams 0"), metrics);
    }
  }

  @Test
  void badQuestionsAre400() throws Exception {
    assertEquals(400, get("/wait/v1/namespaces/shop/jobs", "shop-token").statusCode());
    HttpResponse<String> badName =
        get("/wait/v1/namespaces/shop/jobs?names=Migrate_DB", "shop-token");
    assertEquals(400, badName.statusCode());
    assertTrue(message(badName).contains("'Migrate_DB' is not a valid Job name"));
    assertEquals(
        400, get("/wait/v1/namespaces/Shop/jobs?names=migrate", "shop-token").statusCode());
    assertEquals(
        400,
        get("/wait/v1/namespaces/shop/jobs?names=migrate&revision=", "shop-token").statusCode());
  }

  @Test
  void streamsEachStateThenTheVerdictThenEnds() throws Exception {
    server.tracker.upserted(job("migrate", "uid-1", 1, null));
    try (Lines lines = stream("/wait/v1/namespaces/shop/jobs?names=migrate", "shop-token")) {
      JsonNode first = lines.next("job");
      assertEquals("migrate", first.path("job").asText());
      assertTrue(first.path("found").asBoolean());
      assertEquals("live", first.path("source").asText());
      assertEquals("RUNNING", first.path("phase").asText());
      assertEquals("running (1 active)", first.path("line").asText());
      server.tracker.upserted(job("migrate", "uid-1", 0, "Complete"));
      JsonNode done = lines.next("job");
      assertEquals("SUCCEEDED", done.path("phase").asText());
      JsonNode verdict = lines.next("verdict");
      assertEquals("SUCCEEDED", verdict.path("outcome").asText());
      assertTrue(lines.ended(), "the response ends after the verdict");
    }
    assertEquals(0, server.tracker.subscriptions(), "nothing left subscribed");
    assertEquals(0, server.confirmingReads.get(), "a success seen happening needs no read");
  }

  @Test
  void aMissingJobIsReportedThenFollowedWhenCreated() throws Exception {
    try (Lines lines = stream("/wait/v1/namespaces/shop/jobs?names=migrate", "shop-token")) {
      JsonNode missing = lines.next("job");
      assertFalse(missing.path("found").asBoolean());
      assertEquals("none", missing.path("source").asText());
      assertEquals("not found", missing.path("line").asText());
      server.tracker.upserted(job("migrate", "uid-1", 0, "Failed"));
      assertEquals("FAILED", lines.next("job").path("phase").asText());
      JsonNode verdict = lines.next("verdict");
      assertEquals("FAILED", verdict.path("outcome").asText());
      assertEquals("migrate", verdict.path("job").asText());
    }
  }

  @Test
  void aJobDeletedAfterSuccessIsAnsweredFromTheLedger() throws Exception {
    Job done = job("migrate", "uid-1", 0, "Complete");
    server.tracker.upserted(done);
    server.tracker.deleted(done);
    try (Lines lines = stream("/wait/v1/namespaces/shop/jobs?names=migrate", "shop-token")) {
      JsonNode answer = lines.next("job");
      assertEquals("ledger", answer.path("source").asText());
      assertEquals("SUCCEEDED", answer.path("phase").asText());
      assertEquals("uid-1", answer.path("uid").asText());
      assertEquals("SUCCEEDED", lines.next("verdict").path("outcome").asText());
    }
    assertEquals(1, server.confirmingReads.get(), "a success known before the question is read");
  }

  @Test
  void aRecordedSuccessDoesNotPassWhileTheApiServerHasANewerRun() throws Exception {
    Job done = job("migrate", "uid-1", 0, "Complete");
    server.tracker.upserted(done);
    server.tracker.deleted(done);
    // Re-created under the same name; the tracker's watch has not delivered it yet.
    server.apiServerRuns.put("shop/migrate", "uid-2");
    try (Lines lines = stream("/wait/v1/namespaces/shop/jobs?names=migrate", "shop-token")) {
      server.tracker.upserted(job("migrate", "uid-2", 1, null));
      JsonNode first = lines.next("job");
      assertEquals("uid-2", first.path("uid").asText(), "run 1's success was never sent");
      assertEquals("RUNNING", first.path("phase").asText());
      server.tracker.upserted(job("migrate", "uid-2", 0, "Complete"));
      assertEquals("uid-2", lines.next("job").path("uid").asText());
      assertEquals("SUCCEEDED", lines.next("verdict").path("outcome").asText());
    }
  }

  @Test
  void aSuccessThatCannotBeConfirmedWaitsWithANoticeAndPassesOnceConfirmed() throws Exception {
    Job done = job("migrate", "uid-1", 0, "Complete");
    server.tracker.upserted(done);
    server.tracker.deleted(done);
    server.apiFailure = new IllegalStateException("connect timed out");
    try (Lines lines = stream("/wait/v1/namespaces/shop/jobs?names=migrate", "shop-token")) {
      assertEquals("confirming", lines.next("notice").path("event").asText());
      server.apiFailure = null;
      assertEquals("uid-1", lines.next("job").path("uid").asText());
      assertEquals("SUCCEEDED", lines.next("verdict").path("outcome").asText());
    }
  }

  @Test
  void theRevisionIsPartOfTheQuestion() throws Exception {
    server.tracker.upserted(job("migrate", "uid-1", 0, "Complete"));
    try (Lines lines =
        stream("/wait/v1/namespaces/shop/jobs?names=migrate&revision=42", "shop-token")) {
      assertEquals("OTHER_REVISION", lines.next("job").path("phase").asText());
      Job rerun =
          new JobBuilder(job("migrate", "uid-2", 0, "Complete"))
              .editMetadata()
              .addToAnnotations(JobVerdict.REVISION_ANNOTATION, "42")
              .endMetadata()
              .build();
      server.tracker.upserted(rerun);
      JsonNode answer = lines.next("job");
      assertEquals("SUCCEEDED", answer.path("phase").asText());
      assertEquals("uid-2", answer.path("uid").asText());
      lines.next("verdict");
    }
  }

  @Test
  void heartbeatsKeepAQuietStreamAlive() throws Exception {
    server.tracker.upserted(job("migrate", "uid-1", 1, null));
    try (Lines lines = stream("/wait/v1/namespaces/shop/jobs?names=migrate", "shop-token")) {
      lines.next("job");
      lines.next("heartbeat");
      lines.next("heartbeat");
    }
  }

  @Test
  void aStoppingGateEndsTheStreamWithANotice() throws Exception {
    server.tracker.upserted(job("migrate", "uid-1", 1, null));
    try (Lines lines = stream("/wait/v1/namespaces/shop/jobs?names=migrate", "shop-token")) {
      lines.next("job");
      server.stop();
      assertEquals("stopping", lines.next("notice").path("event").asText());
      assertTrue(lines.ended());
    }
  }

  @Test
  void metricsCountRequestsAndOpenStreams() throws Exception {
    get("/wait/v1/namespaces/bank/jobs?names=migrate", "shop-token");
    try (Lines lines = stream("/wait/v1/namespaces/shop/jobs?names=migrate", "shop-token")) {
      lines.next("job");
      String metrics = server.api().renderMetrics();
      assertTrue(metrics.contains("migrate_gate_wait_requests_total{code=\"403\"} 1"), metrics);
      assertTrue(metrics.contains("migrate_gate_wait_streams 1"), metrics);
      assertFalse(metrics.contains("shop-token"));
    }
  }

  // --- helpers -----------------------------------------------------------------------------------

  static Job job(String name, String uid, int active, String condition) {
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
      return job.withNewStatus().withActive(active).endStatus().build();
    }
    return job.withNewStatus()
        .addNewCondition()
        .withType(condition)
        .withStatus("True")
        .withReason(condition.equals("Failed") ? "BackoffLimitExceeded" : "CompletionsReached")
        .withLastTransitionTime(Instant.now().toString())
        .endCondition()
        .endStatus()
        .build();
  }

  private HttpResponse<String> get(String path, String token) throws Exception {
    return get(server, path, token);
  }

  private static void await(java.util.function.BooleanSupplier condition) throws Exception {
    long deadline = System.nanoTime() + LINE_DEADLINE.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("timed out after " + LINE_DEADLINE);
      }
      Thread.sleep(20);
    }
  }

  private HttpResponse<String> get(WaitApiServer target, String path, String token)
      throws Exception {
    HttpRequest.Builder request =
        HttpRequest.newBuilder(URI.create(target.url() + path)).timeout(Duration.ofSeconds(10));
    if (token != null) {
      request.header("Authorization", "Bearer " + token);
    }
    return clientFor(target).send(request.build(), HttpResponse.BodyHandlers.ofString());
  }

  private HttpClient clientFor(WaitApiServer target) throws Exception {
    if (target == server) {
      return client;
    }
    return HttpClient.newBuilder()
        .version(HttpClient.Version.HTTP_1_1)
        .sslContext(trusting(target.caPem()))
        .build();
  }

  private static String message(HttpResponse<String> response) throws Exception {
    JsonNode body = JSON.readTree(response.body());
    assertEquals("error", body.path("type").asText());
    assertEquals(response.statusCode(), body.path("code").asInt());
    return body.path("message").asText();
  }

  private Lines stream(String path, String token) throws Exception {
    return stream(server, path, token);
  }

  private Lines stream(WaitApiServer target, String path, String token) throws Exception {
    HttpResponse<InputStream> response =
        clientFor(target)
            .send(
                HttpRequest.newBuilder(URI.create(target.url() + path))
                    .header("Authorization", "Bearer " + token)
                    .build(),
                HttpResponse.BodyHandlers.ofInputStream());
    assertEquals(200, response.statusCode());
    assertEquals(WaitApi.CONTENT_TYPE, response.headers().firstValue("Content-Type").orElse(""));
    return new Lines(response.body());
  }

  /** The lines of one streamed response, read on a thread so the test can wait with a deadline. */
  private static final class Lines implements AutoCloseable {
    private static final String END = "\u0000end";
    private final BlockingQueue<String> queue = new LinkedBlockingQueue<>();
    private final InputStream body;
    private final List<String> seen = new ArrayList<>();

    Lines(InputStream body) {
      this.body = body;
      Thread reader =
          new Thread(
              () -> {
                try (BufferedReader in =
                    new BufferedReader(new InputStreamReader(body, StandardCharsets.UTF_8))) {
                  String line;
                  while ((line = in.readLine()) != null) {
                    queue.add(line);
                  }
                } catch (Exception e) {
                  // closed by the test
                }
                queue.add(END);
              });
      reader.setDaemon(true);
      reader.start();
    }

    /** The next line of {@code type}, skipping heartbeats unless asked for. */
    JsonNode next(String type) throws Exception {
      while (true) {
        String line = queue.poll(LINE_DEADLINE.toMillis(), TimeUnit.MILLISECONDS);
        if (line == null || line.equals(END)) {
          throw new AssertionError("no '" + type + "' line; lines so far: " + seen);
        }
        seen.add(line);
        JsonNode node = JSON.readTree(line);
        if (node.path("type").asText().equals(type)) {
          return node;
        }
        if (!node.path("type").asText().equals("heartbeat")) {
          throw new AssertionError("expected a '" + type + "' line, got " + line);
        }
      }
    }

    /** Whether the response has ended already (lines before the end are kept for next()). */
    boolean hasEnded() {
      return queue.contains(END);
    }

    boolean ended() throws Exception {
      String line = queue.poll(LINE_DEADLINE.toMillis(), TimeUnit.MILLISECONDS);
      return END.equals(line);
    }

    @Override
    public void close() throws Exception {
      body.close();
    }
  }

  static SSLContext trusting(String caPem) throws Exception {
    KeyStore store = KeyStore.getInstance(KeyStore.getDefaultType());
    store.load(null, null);
    store.setCertificateEntry(
        "ca",
        CertificateFactory.getInstance("X.509")
            .generateCertificate(
                new ByteArrayInputStream(caPem.getBytes(StandardCharsets.US_ASCII))));
    TrustManagerFactory trust =
        TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    trust.init(store);
    SSLContext context = SSLContext.getInstance("TLS");
    context.init(null, trust.getTrustManagers(), null);
    return context;
  }
}
