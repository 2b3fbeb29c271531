package io.migrategate.gate;

import com.fasterxml.jackson.databind.JsonNode;
import io.fabric8.kubernetes.api.model.admission.v1.AdmissionResponseBuilder;
import io.fabric8.kubernetes.api.model.admission.v1.AdmissionReview;
import io.fabric8.kubernetes.api.model.admission.v1.AdmissionReviewBuilder;
import io.migrategate.gate.admission.AdmissionReviewer;
import io.migrategate.gate.admission.Outcome;
import io.migrategate.gate.admission.ReviewResult;
import io.migrategate.gate.admission.WouldBlockException;
import io.vertx.core.Context;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;

/**
 * Stands in for the injection logic: a pod carrying {@code migrate.io/job} gets a one-operation
 * JSON patch, anything else is admitted unchanged. Optionally slow, to hold reviews in flight.
 */
final class StubReviewer implements AdmissionReviewer {
  static final String PATCH =
      "[{\"op\":\"add\",\"path\":\"/metadata/annotations/migrate.io~1status\",\"value\":\"injected\"}]";
  private final Duration delay;

  StubReviewer() {
    this(Duration.ZERO);
  }

  StubReviewer(Duration delay) {
    this.delay = delay;
  }

  @Override
  public ReviewResult review(AdmissionReview review, Entry entry) {
    if (!delay.isZero()) {
      if (Context.isOnEventLoopThread()) {
        throw new WouldBlockException("slow stub lookup"); // as a real lookup missing its cache
      }
      try {
        Thread.sleep(delay.toMillis()); // simulates a slow owner lookup
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    AdmissionResponseBuilder response =
        new AdmissionResponseBuilder().withUid(review.getRequest().getUid()).withAllowed(true);
    // The server hands the pod over as a JSON tree.
    boolean annotated =
        review.getRequest().getObject() instanceof JsonNode pod
            && pod.path("metadata").path("annotations").has("migrate.io/job");
    if (annotated) {
      response
          .withPatchType("JSONPatch")
          .withPatch(Base64.getEncoder().encodeToString(PATCH.getBytes(StandardCharsets.UTF_8)));
    }
    return new ReviewResult(
        new AdmissionReviewBuilder()
            .withApiVersion("admission.k8s.io/v1")
            .withKind("AdmissionReview")
            .withResponse(response.build())
            .build(),
        annotated ? Outcome.INJECTED : Outcome.SKIPPED,
        annotated ? "" : "not_annotated",
        Boolean.TRUE.equals(review.getRequest().getDryRun()));
  }
}
