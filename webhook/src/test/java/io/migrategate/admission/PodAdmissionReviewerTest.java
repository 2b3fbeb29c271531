package io.migrategate.admission;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.fabric8.kubernetes.api.model.admission.v1.AdmissionResponse;
import io.fabric8.kubernetes.api.model.admission.v1.AdmissionReview;
import org.junit.jupiter.api.Test;

/** The answers golden files cannot show: internal errors, malformed requests. */
class PodAdmissionReviewerTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final OwnerLookup BROKEN_LOOKUP =
      (namespace, owner) -> {
        throw new IllegalStateException("bug in a lookup");
      };

  private static JsonNode goldenReview(String name) throws Exception {
    return JSON.readTree(GoldenAdmissionTest.GOLDEN.resolve(name).resolve("review.json").toFile());
  }

  @Test
  void internalErrorUnderFailClosedIsDeniedAndNamesTheError() throws Exception {
    InjectionConfig config =
        InjectionConfig.defaults(GoldenAdmissionTest.WAITER_IMAGE, "migrate-gate");
    ReviewResult result =
        new PodAdmissionReviewer(config, BROKEN_LOOKUP)
            .review(GoldenAdmissionTest.parse(goldenReview("deployment-annotation")));
    AdmissionResponse response = result.response().getResponse();
    assertEquals(Outcome.ERROR, result.outcome());
    assertEquals(Reasons.INTERNAL_ERROR, result.reason());
    assertFalse(response.getAllowed());
    assertEquals(500, response.getStatus().getCode());
    assertTrue(response.getStatus().getMessage().contains("bug in a lookup"));
    assertEquals("705ab4f5-6393-11e8-b7cc-42010a800002", response.getUid());
  }

  @Test
  void internalErrorUnderFailOpenIsAllowedWithAWarning() throws Exception {
    InjectionConfig config =
        InjectionConfig.defaults(GoldenAdmissionTest.WAITER_IMAGE, "migrate-gate")
            .withFailurePolicy(FailurePolicy.FAIL_OPEN);
    ReviewResult result =
        new PodAdmissionReviewer(config, BROKEN_LOOKUP)
            .review(GoldenAdmissionTest.parse(goldenReview("deployment-annotation")));
    AdmissionResponse response = result.response().getResponse();
    assertEquals(Outcome.ERROR, result.outcome());
    assertTrue(response.getAllowed());
    assertNull(response.getPatch());
    assertTrue(response.getWarnings().get(0).contains("bug in a lookup"));
  }

  @Test
  void reviewWithoutRequestOrObjectNeverThrows() throws Exception {
    AdmissionReviewer reviewer = reviewerWithoutApi("no API");
    ReviewResult empty = reviewer.review(new AdmissionReview());
    assertEquals(Outcome.ERROR, empty.outcome());
    assertEquals("AdmissionReview", empty.response().getKind());

    ObjectNode review = (ObjectNode) goldenReview("pod-annotation");
    ((ObjectNode) review.path("request")).remove("object");
    ReviewResult noObject = reviewer.review(GoldenAdmissionTest.parse(review));
    assertEquals(Outcome.DENIED, noObject.outcome());
    assertEquals(Reasons.MALFORMED_REQUEST, noObject.reason());
    assertEquals(400, noObject.response().getResponse().getStatus().getCode());
    assertTrue(
        noObject
            .response()
            .getResponse()
            .getStatus()
            .getMessage()
            .contains("has no request.object"),
        noObject.response().getResponse().getStatus().getMessage());
  }

  @Test
  void podCreateWithoutNamespaceIsABadRequestNotAnInternalError() throws Exception {
    AdmissionReviewer reviewer = reviewerWithoutApi("no API");
    ObjectNode review = (ObjectNode) goldenReview("pod-annotation");
    ((ObjectNode) review.path("request")).remove("namespace");
    ((ObjectNode) review.path("request").path("object").path("metadata")).remove("namespace");
    ReviewResult result = reviewer.review(GoldenAdmissionTest.parse(review));
    assertEquals(Outcome.DENIED, result.outcome());
    assertEquals(400, result.response().getResponse().getStatus().getCode());
    assertTrue(
        result.response().getResponse().getStatus().getMessage().contains("names no namespace"),
        result.response().getResponse().getStatus().getMessage());
  }

  @Test
  void podAnnotatedItselfNeedsNoApi() throws Exception {
    AdmissionReviewer reviewer = reviewerWithoutApi("API server unreachable");
    ReviewResult result =
        reviewer.review(GoldenAdmissionTest.parse(goldenReview("generate-name-pod")));
    assertEquals(Outcome.INJECTED, result.outcome());
  }

  /** The production reviewer with default injection and no API access ({@code why}). */
  private static AdmissionReviewer reviewerWithoutApi(String why) {
    return new PodAdmissionReviewer(
        InjectionConfig.defaults(GoldenAdmissionTest.WAITER_IMAGE, "migrate-gate"),
        OwnerLookup.unavailable(why));
  }
}
