package io.migrategate.gate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The wait API on the production gate's HTTPS port, with the Kubernetes API unreachable: it answers
 * at once with what it can say (no token → 401; a token it cannot check → 503), and admission keeps
 * working beside it.
 */
class GateWaitApiWiringTest {
  private static GateFixture fixture;

  @BeforeAll
  static void start() throws Exception {
    fixture = new GateFixture(GateMain::defaultReviewer, "--owner-lookup-timeout", "500ms");
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
  void aTokenThatCannotBeCheckedIs503AndSaysWhy() throws Exception {
    HttpResponse<String> response = get("some-token");
    assertEquals(503, response.statusCode(), response.body());
    assertTrue(response.body().contains("cannot check the token right now"), response.body());
    assertTrue(fixture.metric("migrate_gate_wait_requests_total{code=\"503\"}") >= 1);
    assertEquals(0.0, fixture.metric("migrate_gate_job_tracker_ready"));
  }

  @Test
  void admissionStillWorks() throws Exception {
    HttpResponse<String> response = fixture.post(GateFixture.sampleReview(), "application/json");
    assertEquals(200, response.statusCode(), response.body());
  }

  private static HttpResponse<String> get(String token) throws Exception {
    HttpRequest.Builder request =
        HttpRequest.newBuilder(
                URI.create(
                    "https://localhost:"
                        + fixture.gate.port()
                        + "/wait/v1/namespaces/shop/jobs?names=migrate"))
            .timeout(Duration.ofSeconds(20));
    if (token != null) {
      request.header("Authorization", "Bearer " + token);
    }
    return fixture.client.send(request.build(), HttpResponse.BodyHandlers.ofString());
  }
}
