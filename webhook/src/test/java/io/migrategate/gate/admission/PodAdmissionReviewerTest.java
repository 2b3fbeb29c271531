package io.migrategate.gate.admission;

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
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The answers golden files cannot show: internal errors, malformed requests, limits. */
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

  /**
   * A review the API server never sends is denied (400), never allowed: an empty object, another
   * kind of object on a pod CREATE, a request without kind or operation. The first three were
   * answered {@code allowed: true} before (issue 12, item 8).
   */
  @ParameterizedTest
  @ValueSource(
      strings = {
        "object={}",
        "object=deployment",
        "object=no-spec",
        "no-kind",
        "no-operation",
        "kind-without-version"
      })
  void aReviewWithoutAPodObjectIsDeniedAsMalformed(String variant) throws Exception {
    AdmissionReviewer reviewer = reviewerWithoutApi("no API");
    ObjectNode review = (ObjectNode) goldenReview("pod-annotation");
    ObjectNode request = (ObjectNode) review.path("request");
    ObjectNode object = (ObjectNode) request.path("object");
    switch (variant) {
      case "object={}" -> request.set("object", JSON.createObjectNode());
      case "object=deployment" -> object.put("apiVersion", "apps/v1").put("kind", "Deployment");
      case "object=no-spec" -> object.remove("spec");
      case "no-kind" -> request.remove("kind");
      case "no-operation" -> request.remove("operation");
      case "kind-without-version" -> ((ObjectNode) request.path("kind")).remove("version");
      default -> throw new IllegalArgumentException(variant);
    }
    ReviewResult result = reviewer.review(GoldenAdmissionTest.parse(review));
    AdmissionResponse response = result.response().getResponse();
    assertFalse(response.getAllowed(), variant + " must not be allowed");
    assertEquals(Outcome.DENIED, result.outcome());
    assertEquals(Reasons.MALFORMED_REQUEST, result.reason());
    assertEquals(400, response.getStatus().getCode());
    assertNull(response.getPatch());
  }

  @Test
  void theLimitsOfTheWaitApiAreAdmissionLimits() throws Exception {
    AdmissionReviewer reviewer = reviewerWithoutApi("no API");
    String thirtyTwo =
        String.join(
            ",", java.util.stream.IntStream.rangeClosed(1, 32).mapToObj(i -> "j" + i).toList());
    ObjectNode atLimit = (ObjectNode) goldenReview("pod-annotation");
    ((ObjectNode) atLimit.path("request").path("object").path("metadata").path("annotations"))
        .put(GateAnnotations.JOB, thirtyTwo + ",j1")
        .put(GateAnnotations.REVISION, "r".repeat(WaitLimits.MAX_REVISION_LENGTH));
    assertEquals(
        Outcome.INJECTED,
        reviewer.review(GoldenAdmissionTest.parse(atLimit)).outcome(),
        "32 distinct Jobs (a repeat counts once) and a 253-character revision are accepted");

    ObjectNode over = (ObjectNode) goldenReview("pod-annotation");
    ((ObjectNode) over.path("request").path("object").path("metadata").path("annotations"))
        .put(GateAnnotations.JOB, thirtyTwo + ",j33");
    ReviewResult result = reviewer.review(GoldenAdmissionTest.parse(over));
    assertEquals(Reasons.INVALID_ANNOTATION, result.reason());
    assertTrue(
        result.response().getResponse().getStatus().getMessage().contains("33 distinct Jobs"),
        result.response().getResponse().getStatus().getMessage());
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
