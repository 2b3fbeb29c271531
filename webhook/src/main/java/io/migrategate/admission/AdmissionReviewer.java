package io.migrategate.admission;

import io.fabric8.kubernetes.api.model.admission.v1.AdmissionReview;

/**
 * Decides one AdmissionReview. Thread-safe; never throws (internal errors become {@link
 * Outcome#ERROR} replies).
 *
 * <p>An implementation may block while it looks up a pod's owning workload (informer cache first,
 * then a direct GET bounded by a short timeout), so callers on an event loop must call it from a
 * worker thread.
 */
public interface AdmissionReviewer {
  ReviewResult review(AdmissionReview review);
}
