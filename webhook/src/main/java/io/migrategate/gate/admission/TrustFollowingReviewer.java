package io.migrategate.gate.admission;

import io.fabric8.kubernetes.api.model.admission.v1.AdmissionReview;
import java.util.Optional;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * Injected gate-mode waiters carry the CAs they trust for the gate. With self-managed TLS those
 * rotate (old and new during a rotation), so the reviewer is rebuilt whenever the trusted set
 * changes; until the CA is known, waiters are injected in direct mode. Rebuilding is cheap: the
 * owner-lookup informers and the Job tracker are shared, only the injection settings change.
 */
public final class TrustFollowingReviewer implements AdmissionReviewer {
  private final Supplier<Optional<String>> trust;
  private final Function<Optional<String>, AdmissionReviewer> build;
  private volatile Current current;

  private record Current(Optional<String> trust, AdmissionReviewer reviewer) {}

  public TrustFollowingReviewer(
      Supplier<Optional<String>> trust, Function<Optional<String>, AdmissionReviewer> build) {
    this.trust = trust;
    this.build = build;
  }

  @Override
  public ReviewResult review(AdmissionReview review, Entry entry) {
    Optional<String> now = trust.get();
    Current seen = current;
    if (seen == null || !seen.trust().equals(now)) {
      seen = new Current(now, build.apply(now));
      current = seen;
    }
    return seen.reviewer().review(review, entry);
  }
}
