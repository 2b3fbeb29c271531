package io.migrategate.gate.tls;

/** The CA Secret holds something unusable; the message names the Secret, the key and the fix. */
final class InvalidCaSecretException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  InvalidCaSecretException(String message, Throwable cause) {
    super(message, cause);
  }
}
