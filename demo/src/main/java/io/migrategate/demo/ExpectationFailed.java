package io.migrategate.demo;

/** A scenario did not behave as the demo says it does: exit 1 with the message. */
final class ExpectationFailed extends RuntimeException {
  private static final long serialVersionUID = 1L;

  ExpectationFailed(String message) {
    super(message);
  }
}
