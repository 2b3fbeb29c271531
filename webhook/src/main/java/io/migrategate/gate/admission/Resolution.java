package io.migrategate.gate.admission;

import java.util.Optional;

/** The gate's decision for one pod, before any JSON is written. */
sealed interface Resolution {

  /** Inject {@code migrate-wait}. */
  record Gate(WaitSpec spec) implements Resolution {}

  /** Leave the pod alone apart from the status annotation; the warning goes to the client. */
  record Skip(String reason, Optional<String> warning) implements Resolution {
    Skip(String reason) {
      this(reason, Optional.empty());
    }
  }

  /** Reject the pod with a message that says what to fix. */
  record Deny(String reason, String message) implements Resolution {}

  /** An owner lookup that was needed could not be made; the failure policy decides. */
  record LookupFailed(String owner, String cause) implements Resolution {}
}
