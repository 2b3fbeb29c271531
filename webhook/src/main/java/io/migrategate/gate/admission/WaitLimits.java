package io.migrategate.gate.admission;

/**
 * The limits of one question to the gate's wait API, in one place: the wait API answers 400 above
 * them, and a waiter retries a 400 forever, so admission denies a pod whose annotations exceed them
 * (the mistake shows at deploy time instead of as a pod stuck in Init).
 */
public final class WaitLimits {
  /**
   * Distinct Jobs one pod may name in {@code migrate.io/job}: more than anyone writes; bounds the
   * work of one request.
   */
  public static final int MAX_JOBS = 32;

  /** The longest {@code migrate.io/revision}, in characters ({@link String#length()}). */
  public static final int MAX_REVISION_LENGTH = 253;

  private WaitLimits() {}
}
