package io.migrategate.gate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.InputStream;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The production reviewer behind the HTTPS server, with the Kubernetes API unreachable: pods
 * annotated on their template are still injected; a pod whose annotation would have to be read from
 * its owner follows the fail-closed policy with a message saying so.
 */
class GateWiringTest {
  private static final ObjectMapper JSON = new ObjectMapper();
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
  void injectsAPodAnnotatedOnItsTemplateWithoutTheApi() throws Exception {
    HttpResponse<String> response = fixture.post(GateFixture.sampleReview(), "application/json");

    assertEquals(200, response.statusCode(), response.body());
    JsonNode answer = JSON.readTree(response.body()).path("response");
    assertEquals("5e3b8f2a-9c41-4c7e-8d2b-6a1f0e9d7c35", answer.path("uid").asText());
    assertTrue(answer.path("allowed").asBoolean(), response.body());
    assertEquals("JSONPatch", answer.path("patchType").asText());
    String patch =
        new String(
            Base64.getDecoder().decode(answer.path("patch").asText()), StandardCharsets.UTF_8);
    assertTrue(patch.contains("migrate-wait"), patch);
    assertTrue(patch.contains("registry.example.com/migrate-gate/waiter:test"), patch);
    assertTrue(
        fixture.metric(
                "migrate_gate_admission_reviews_total{outcome=\"injected\",reason=\"injected\",dry_run=\"false\"}")
            >= 1);
  }

  @Test
  void deniesAPodThatNeedsAnOwnerLookupWhenTheApiIsUnreachable() throws Exception {
    byte[] review;
    try (InputStream in =
        GateWiringTest.class.getResourceAsStream("/reviews/deployment-owned-pod-review.json")) {
      review = in.readAllBytes();
    }

    HttpResponse<String> response = fixture.post(review, "application/json");

    assertEquals(200, response.statusCode(), response.body());
    JsonNode answer = JSON.readTree(response.body()).path("response");
    assertEquals("7a4c1e9b-0d3f-4b2a-8e6c-5f1d2c3b4a59", answer.path("uid").asText());
    assertFalse(answer.path("allowed").asBoolean(true), response.body());
    assertFalse(answer.path("status").path("message").asText().isEmpty(), response.body());
    assertTrue(fixture.metric("migrate_gate_owner_lookup_failures_total") >= 1);
    assertTrue(fixture.probe("/readyz").body().contains("owner-caches"));
    assertEquals(200, fixture.probe("/readyz").statusCode());
  }
}
