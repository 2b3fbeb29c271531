package io.migrategate.gate;

/** A flag or environment variable the gate cannot start with; the message names it and the fix. */
public final class UsageException extends Exception {
  public UsageException(String message) {
    super(message);
  }
}
