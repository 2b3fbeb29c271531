package io.migrategate.certs;

/**
 * PEM text that cannot be used: malformed, missing the expected block, or an unsupported key
 * format. Unchecked because it is always a caller's input problem, reported with the fix in the
 * message.
 */
public class PemException extends IllegalArgumentException {
  private static final long serialVersionUID = 1L;

  public PemException(String message) {
    super(message);
  }

  public PemException(String message, Throwable cause) {
    super(message, cause);
  }
}
