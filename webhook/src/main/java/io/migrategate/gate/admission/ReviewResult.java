package io.migrategate.gate.admission;

import io.fabric8.kubernetes.api.model.admission.v1.AdmissionReview;

/**
 * The answer to one review plus what the server needs for metrics and logs.
 *
 * @param response the AdmissionReview to send back: apiVersion/kind set, request uid echoed
 * @param outcome what was done, a metrics label
 * @param reason why, a low-cardinality metrics label (see {@link Reasons})
 * @param dryRun whether the request was a dry run (same answer, no side effects)
 */
public record ReviewResult(
    AdmissionReview response, Outcome outcome, String reason, boolean dryRun) {}
