package io.migrategate.gate.tls;

import io.fabric8.kubernetes.client.KubernetesClientException;

/** Turns Kubernetes API errors into messages that name the object, the verb and the fix. */
final class ApiFailures {
  static final int FORBIDDEN = 403;
  static final int NOT_FOUND = 404;
  static final int CONFLICT = 409;
  static final int UNPROCESSABLE = 422;

  private ApiFailures() {}

  static int code(RuntimeException e) {
    return e instanceof KubernetesClientException k ? k.getCode() : 0;
  }

  /**
   * An exception whose message says that {@code verb} on {@code object} failed, and for 403 which
   * RBAC rule is missing ({@code rule}).
   */
  static IllegalStateException describe(
      RuntimeException e, String verb, String object, String rule) {
    int code = code(e);
    String detail =
        e instanceof KubernetesClientException k && k.getStatus() != null
            ? k.getStatus().getMessage()
            : e.getMessage();
    if (code == FORBIDDEN) {
      return new IllegalStateException(
          "forbidden to " + verb + " " + object + ": grant " + rule + " (" + detail + ")", e);
    }
    return new IllegalStateException(
        "cannot " + verb + " " + object + (code > 0 ? " (HTTP " + code + ")" : "") + ": " + detail,
        e);
  }
}
