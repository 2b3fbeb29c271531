package io.migrategate.admission;

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
  ReviewResult review(AdmissionReview review);
}
