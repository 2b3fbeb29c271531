package io.migrategate.wait;

/** Bad flags or environment; the message names the flag (or variable) and the fix. */
public final class UsageException extends Exception {
  private static final long serialVersionUID = 1L;

  public UsageException(String message) {
    super(message);
  }
}
