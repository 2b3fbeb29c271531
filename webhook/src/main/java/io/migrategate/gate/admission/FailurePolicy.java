package io.migrategate.gate.admission;

import java.util.Arrays;
import java.util.stream.Collectors;

/**
 * What a review gets when the gate cannot decide it: an owner lookup it cannot make (API server
 * unreachable) or an internal error. Never a silent guess either way.
 */
public enum FailurePolicy {
  /** Deny with a retriable message; the workload controller retries the pod creation. */
  FAIL_CLOSED("fail-closed"),
  /**
   * Allow without injection, with an admission warning and outcome reason {@code
   * owner-lookup-failed}.
   */
  FAIL_OPEN("fail-open");

  private final String flagValue;

  FailurePolicy(String flagValue) {
    this.flagValue = flagValue;
  }

  /** The spelling used on the command line and in docs. */
  public String flagValue() {
    return flagValue;
  }

  /** Parses {@code fail-closed} or {@code fail-open}; anything else is an error naming both. */
  public static FailurePolicy parse(String value) {
    for (FailurePolicy policy : values()) {
      if (policy.flagValue.equals(value)) {
        return policy;
      }
    }
    throw new IllegalArgumentException(
        "owner lookup failure policy '"
            + value
            + "' is not one of "
            + Arrays.stream(values())
                .map(FailurePolicy::flagValue)
                .collect(Collectors.joining(", ")));
  }
}
