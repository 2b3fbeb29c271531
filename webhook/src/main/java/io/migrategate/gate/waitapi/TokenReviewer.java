package io.migrategate.gate.waitapi;

import java.util.concurrent.CompletableFuture;

/**
 * Checks a bearer token presented to the wait API. {@link #review} blocks; implementations never
 * throw (an API failure is {@link Result.Unavailable}). Tokens never appear in results, logs or
 * metrics.
 */
public interface TokenReviewer {

  /** The audience waiter tokens are issued for (the projected volume's {@code audience}). */
  String DEFAULT_AUDIENCE = "migrate-gate";

  Result review(String token);

  /**
   * The same without blocking the caller (an event loop). The default answers in the caller's
   * thread: only for reviewers that never block (tests); {@link CachingTokenReviewer} runs the
   * blocking review on its own bounded pool.
   *
   * @param client the caller's address, for the per-client share of concurrent reviews
   * @param fresh true: do not answer from memory (an open stream's periodic re-check)
   */
  default CompletableFuture<Result> reviewAsync(String token, String client, boolean fresh) {
    return CompletableFuture.completedFuture(review(token));
  }

  /** What a token review found. */
  sealed interface Result {
    /**
     * A valid token for the gate's audience.
     *
     * @param username e.g. {@code system:serviceaccount:shop:app}
     * @param namespace the ServiceAccount's namespace, or null when the user is not a
     *     ServiceAccount
     * @param serviceAccount the ServiceAccount's name, or null
     * @param pod the name of the pod the token is bound to, or null when not known
     * @param expiresAtEpochSecond the token's {@code exp} claim, or 0 when unknown
     */
    record Authenticated(
        String username,
        String namespace,
        String serviceAccount,
        String pod,
        long expiresAtEpochSecond)
        implements Result {

      static final String SERVICE_ACCOUNT_PREFIX = "system:serviceaccount:";

      /** Parses {@code system:serviceaccount:<namespace>:<name>}. */
      static Authenticated of(String username, long expiresAtEpochSecond) {
        return of(username, null, expiresAtEpochSecond);
      }

      /** As {@link #of(String, long)}, for a token bound to {@code pod}. */
      static Authenticated of(String username, String pod, long expiresAtEpochSecond) {
        if (username != null && username.startsWith(SERVICE_ACCOUNT_PREFIX)) {
          String[] parts = username.substring(SERVICE_ACCOUNT_PREFIX.length()).split(":", 2);
          if (parts.length == 2 && !parts[0].isEmpty() && !parts[1].isEmpty()) {
            return new Authenticated(username, parts[0], parts[1], pod, expiresAtEpochSecond);
          }
        }
        return new Authenticated(username, null, null, pod, expiresAtEpochSecond);
      }

      /** {@code ServiceAccount shop/app}, or {@code user alice}. */
      public String describe() {
        return namespace == null
            ? "user " + username
            : "ServiceAccount " + namespace + "/" + serviceAccount;
      }

      /** The key of per-identity bounds: {@code shop/app}. */
      public String identity() {
        return namespace == null ? "user:" + username : namespace + "/" + serviceAccount;
      }
    }

    /** The token is not valid (expired, revoked, wrong audience, not bound to a pod, garbage). */
    record Rejected(String reason) implements Result {}

    /**
     * The review could not be made: the API is unreachable, the gate lacks permission, or ({@code
     * busy}) the gate already has as many reviews in flight as it allows.
     */
    record Unavailable(String cause, boolean busy) implements Result {
      public Unavailable(String cause) {
        this(cause, false);
      }
    }
  }
}
