package io.migrategate.gate.admission;

/** What a review did; the {@code outcome} metrics label. */
public enum Outcome {
  /** The pod is allowed with {@code migrate-wait} added. */
  INJECTED,
  /** The pod is allowed unchanged, or with only the status annotation added. */
  SKIPPED,
  /** The pod is rejected: invalid annotation, or an owner lookup failed under fail-closed. */
  DENIED,
  /**
   * An internal error (a bug): answered like an owner lookup the gate could not make, following the
   * configured {@link FailurePolicy}, with the error in the message.
   */
  ERROR
}
