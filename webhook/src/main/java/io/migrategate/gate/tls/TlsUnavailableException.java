package io.migrategate.gate.tls;

/** No serving certificate could be obtained; the message says why and how to fix it. */
public final class TlsUnavailableException extends Exception {
  private static final long serialVersionUID = 1L;

  public TlsUnavailableException(String message) {
    super(message);
  }
}
