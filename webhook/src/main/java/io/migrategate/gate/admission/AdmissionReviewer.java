package io.migrategate.gate.admission;

import io.fabric8.kubernetes.api.model.admission.v1.AdmissionReview;

/**
 * Decides one AdmissionReview. Thread-safe; never throws (internal errors become {@link
 * Outcome#ERROR} replies), except {@link WouldBlockException}.
 *
 * <p>An implementation may need to block while it looks up a pod's owning workload (informer cache
 * first, then a direct GET bounded by a short timeout). Called on an event loop, it throws {@link
 * WouldBlockException} instead of blocking, and the caller asks again from a worker thread.
 */
public interface AdmissionReviewer {
  /**
   * Which webhook entry sent the review, told apart by the path it calls: the entry of namespaces
   * labelled {@code migrate.io/gate=enforced} calls {@link #ENFORCED_PATH}, every other one {@link
   * #PATH}. A request body cannot say which (the API server sends the same review to each).
   */
  enum Entry {
    /** {@code /mutate}: opting out ({@code migrate.io/inject: "false"}) is honoured. */
    STANDARD,
    /** {@code /mutate/enforced}: opting out is denied, on the pod or on its workload. */
    ENFORCED
  }

  String PATH = "/mutate";
  String ENFORCED_PATH = "/mutate/enforced";

  ReviewResult review(AdmissionReview review, Entry entry);

  /** A review sent by a {@link Entry#STANDARD} entry. */
  default ReviewResult review(AdmissionReview review) {
    return review(review, Entry.STANDARD);
  }
}
