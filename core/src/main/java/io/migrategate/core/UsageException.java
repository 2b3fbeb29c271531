package io.migrategate.core;

/**
 * A command line or environment a program cannot run with: the message names the flag (or the
 * variable) and the fix. Every command line of the project (the gate, the waiter, the certs CLI,
 * the demo) reports its usage errors with this one type and exits 64 (sysexits' EX_USAGE).
 */
public final class UsageException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public UsageException(String message) {
    super(message);
  }
}
