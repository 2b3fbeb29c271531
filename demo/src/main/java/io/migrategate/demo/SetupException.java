package io.migrategate.demo;

/** The demo could not get to its scenario (build, control plane, gate): exit 2 with the message. */
final class SetupException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  SetupException(String message) {
    super(message);
  }

  SetupException(String message, Throwable cause) {
    super(message, cause);
  }
}
