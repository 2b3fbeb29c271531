package io.migrategate.admission;

import io.fabric8.kubernetes.api.model.admission.v1.AdmissionResponseBuilder;
import io.fabric8.kubernetes.api.model.admission.v1.AdmissionReview;
import io.fabric8.kubernetes.api.model.admission.v1.AdmissionReviewBuilder;
import java.util.Objects;

/** The gate's reviewer: injects {@code migrate-wait} into annotated pods at CREATE. */
public final class PodAdmissionReviewer implements AdmissionReviewer {
  private final InjectionConfig config;
  private final OwnerLookup owners;

  public PodAdmissionReviewer(InjectionConfig config, OwnerLookup owners) {
    this.config = Objects.requireNonNull(config, "config");
    this.owners = Objects.requireNonNull(owners, "owners");
  }

  @Override
  public ReviewResult review(AdmissionReview review) {
    // Placeholder so the server can wire against the contract; the injection logic follows.
    String uid = review.getRequest() == null ? null : review.getRequest().getUid();
    AdmissionReview response =
        new AdmissionReviewBuilder()
            .withApiVersion("admission.k8s.io/v1")
            .withKind("AdmissionReview")
            .withResponse(new AdmissionResponseBuilder().withUid(uid).withAllowed(true).build())
            .build();
    return new ReviewResult(response, Outcome.SKIPPED, Reasons.NO_ANNOTATION, false);
  }
}
