package io.migrategate.gate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.migrategate.gate.waitapi.FakeJwt;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The wait API on the production gate's wait port, with the Kubernetes API unreachable: it answers
 * at once with what it can say (no token → 401; a token it cannot check → 503, saying nothing of
 * why), admission keeps working beside it, and neither port serves the other's API.
 */
class GateWaitApiWiringTest {
  private static GateFixture fixture;

  @BeforeAll
  static void start() throws Exception {
    fixture = new GateFixture(Gate::defaultReviewer, "--owner-lookup-timeout", "500ms");
  }

  @AfterAll
  static void stop() throws Exception {
    fixture.close();
  }

  @Test
  void withoutATokenTheAnswerIs401() throws Exception {
    HttpResponse<String> response = get(null);
    assertEquals(401, response.statusCode(), response.body());
    assertTrue(response.body().contains("\"type\":\"error\""), response.body());
  }

  @Test
  void aTokenThatCannotBeCheckedIs503WithoutTheCause() throws Exception {
    HttpResponse<String> response = get(FakeJwt.podBound());
    assertEquals(503, response.statusCode(), response.body());
    assertTrue(response.body().contains("cannot check the token right now"), response.body());
    assertFalse(response.body().contains("127.0.0.1:1"), "no internal cause: " + response.body());
    assertFalse(response.body().contains("Exception"), response.body());
    assertTrue(fixture.metric("migrate_gate_wait_requests_total{code=\"503\"}") >= 1);
    assertEquals(0.0, fixture.metric("migrate_gate_job_tracker_ready"));
    assertTrue(fixture.log().contains("wait api unavailable status=503"), fixture.log());
  }

  @Test
  void garbageTokensAreRefusedWithoutATokenReview() throws Exception {
    double before = fixture.metric("migrate_gate_token_reviews_total{source=\"precheck\"}");
    for (String token :
        List.of(
            "random-" + System.nanoTime(),
            FakeJwt.of("https://kubernetes.default.svc.cluster.local", 9_999_999_999L, true),
            FakeJwt.of("migrate-gate", 1, true),
            FakeJwt.of("migrate-gate", 9_999_999_999L, false))) {
      assertEquals(401, get(token).statusCode());
    }
    assertEquals(
        before + 4, fixture.metric("migrate_gate_token_reviews_total{source=\"precheck\"}"));
  }

  @Test
  void theWaitApiIsNotServedOnTheAdmissionPortNorAdmissionOnTheWaitPort() throws Exception {
    HttpResponse<String> wait =
        fixture.client.send(
            HttpRequest.newBuilder(
                    URI.create(
                        "https://localhost:"
                            + fixture.gate.port()
                            + "/wait/v1/namespaces/shop/jobs?names=migrate"))
                .header("Authorization", "Bearer " + FakeJwt.podBound())
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertEquals(404, wait.statusCode(), wait.body());
    assertTrue(wait.body().contains("--wait-port"), wait.body());
    HttpResponse<String> mutate =
        fixture.client.send(
            HttpRequest.newBuilder(fixture.waitUri("/mutate"))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofByteArray(GateFixture.sampleReview()))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertEquals(404, mutate.statusCode(), mutate.body());
    assertTrue(fixture.gate.port() != fixture.gate.waitPort());
  }

  @Test
  void eachPortHasEventLoopsOfItsOwn() {
    var loops = fixture.gate.eventLoopThreads();
    assertEquals(Gate.eventLoops(), loops.get("admission").size(), loops.toString());
    assertEquals(Gate.eventLoops(), loops.get("wait").size(), loops.toString());
    assertTrue(
        loops.get("admission").stream().noneMatch(loops.get("wait")::contains), loops.toString());
  }

  @Test
  void admissionStillWorks() throws Exception {
    HttpResponse<String> response = fixture.post(GateFixture.sampleReview(), "application/json");
    assertEquals(200, response.statusCode(), response.body());
  }

  private static HttpResponse<String> get(String token) throws Exception {
    HttpRequest.Builder request =
        HttpRequest.newBuilder(fixture.waitUri("/wait/v1/namespaces/shop/jobs?names=migrate"))
            .timeout(Duration.ofSeconds(20));
    if (token != null) {
      request.header("Authorization", "Bearer " + token);
    }
    return fixture.client.send(request.build(), HttpResponse.BodyHandlers.ofString());
  }
}
