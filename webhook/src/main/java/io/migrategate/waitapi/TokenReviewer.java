package io.migrategate.waitapi;

/**
 * Checks a bearer token presented to the wait API. Blocking; implementations never throw (an API
 * failure is {@link Result.Unavailable}). Tokens never appear in results, logs or metrics.
 */
public interface TokenReviewer {

  /** The audience waiter tokens are issued for (the projected volume's {@code audience}). */
  String DEFAULT_AUDIENCE = "migrate-gate";

  Result review(String token);

  /** What a token review found. */
  sealed interface Result {
    /**
     * A valid token for the gate's audience.
     *
     * @param username e.g. {@code system:serviceaccount:shop:app}
     * @param namespace the ServiceAccount's namespace, or null when the user is not a
     *     ServiceAccount
     * @param serviceAccount the ServiceAccount's name, or null
     * @param expiresAtEpochSecond the token's {@code exp} claim, or 0 when unknown
     */
    record Authenticated(
        String username, String namespace, String serviceAccount, long expiresAtEpochSecond)
        implements Result {

      static final String SERVICE_ACCOUNT_PREFIX = "system:serviceaccount:";

      /** Parses {@code system:serviceaccount:<namespace>:<name>}. */
      static Authenticated of(String username, long expiresAtEpochSecond) {
        if (username != null && username.startsWith(SERVICE_ACCOUNT_PREFIX)) {
          String[] parts = username.substring(SERVICE_ACCOUNT_PREFIX.length()).split(":", 2);
          if (parts.length == 2 && !parts[0].isEmpty() && !parts[1].isEmpty()) {
            return new Authenticated(username, parts[0], parts[1], expiresAtEpochSecond);
          }
        }
        return new Authenticated(username, null, null, expiresAtEpochSecond);
      }

      /** {@code ServiceAccount shop/app}, or {@code user alice}. */
      public String describe() {
        return namespace == null
            ? "user " + username
            : "ServiceAccount " + namespace + "/" + serviceAccount;
      }
    }

    /** The token is not valid (expired, revoked, wrong audience, not a token). */
    record Rejected(String reason) implements Result {}

    /** The review could not be made (API unreachable, the gate lacks permission). */
    record Unavailable(String cause) implements Result {}
  }
}
