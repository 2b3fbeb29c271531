package io.migrategate.wait;

import java.util.Objects;

/**
 * How the waiter ends: an exit code and the one-line reason written to the termination log (so it
 * shows in {@code kubectl describe pod}).
 */
public record Exit(ExitCode code, String reason) {

  public Exit {
    Objects.requireNonNull(code, "code");
    Objects.requireNonNull(reason, "reason");
  }

  public static Exit of(ExitCode code, String reason) {
    return new Exit(code, reason);
  }

  /** The reason on one line, as the kubelet shows termination messages. */
  public String oneLine() {
    return reason.replaceAll("\\s*[\\r\\n]+\\s*", " ").trim();
  }
}
