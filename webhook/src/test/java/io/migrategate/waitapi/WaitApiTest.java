package io.migrategate.waitapi;

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
  void aRejectedTokenIs401AndTheTokenIsNotEchoed() throws Exception {
    server.tokens.put(
        "expired-token", new TokenReviewer.Result.Rejected("the token is not valid: expired"));
    HttpResponse<String> response =
        get("/wait/v1/namespaces/shop/jobs?names=migrate", "expired-token");
    assertEquals(401, response.statusCode());
    assertEquals("unauthenticated: the token is not valid: expired", message(response));
    assertFalse(response.body().contains("expired-token"));
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
  void aReviewThatCannotBeMadeIs503() throws Exception {
    server.tokens.put("t", new TokenReviewer.Result.Unavailable("TokenReview failed: HTTP 500"));
    HttpResponse<String> response = get("/wait/v1/namespaces/shop/jobs?names=migrate", "t");
    assertEquals(503, response.statusCode());
    assertTrue(message(response).contains("HTTP 500"));
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
    HttpRequest.Builder request =
        HttpRequest.newBuilder(URI.create(server.url() + path)).timeout(Duration.ofSeconds(10));
    if (token != null) {
      request.header("Authorization", "Bearer " + token);
    }
    return client.send(request.build(), HttpResponse.BodyHandlers.ofString());
  }

  private static String message(HttpResponse<String> response) throws Exception {
    JsonNode body = JSON.readTree(response.body());
    assertEquals("error", body.path("type").asText());
    assertEquals(response.statusCode(), body.path("code").asInt());
    return body.path("message").asText();
  }

  private Lines stream(String path, String token) throws Exception {
    HttpResponse<InputStream> response =
        client.send(
            HttpRequest.newBuilder(URI.create(server.url() + path))
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
