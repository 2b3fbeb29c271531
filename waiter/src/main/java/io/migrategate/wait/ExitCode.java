package io.migrategate.wait;

/**
 * The waiter's exit codes: the contract with the kubelet, the gate and whoever reads pod status.
 */
public enum ExitCode {
  /** Every Job succeeded: the app containers may start. */
  SUCCEEDED(0),
  /** Something unexpected broke inside the waiter (a bug, or an unreadable file it needs). */
  INTERNAL_ERROR(1),
  /** A Job failed: the migration did not happen. */
  JOB_FAILED(2),
  /** The timeout elapsed before every Job succeeded. */
  TIMEOUT(3),
  /**
   * The API server rejected the credentials (401) or the ServiceAccount lacks a permission (403).
   */
  NOT_PERMITTED(4),
  /** Bad flags or environment (sysexits' EX_USAGE). */
  USAGE(64);

  private final int code;

  ExitCode(int code) {
    this.code = code;
  }

  public int code() {
    return code;
  }
}
