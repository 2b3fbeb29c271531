package io.migrategate.gate.waitapi;

import io.fabric8.kubernetes.api.model.authentication.TokenReview;
import io.fabric8.kubernetes.api.model.authentication.TokenReviewBuilder;
import io.fabric8.kubernetes.api.model.authentication.TokenReviewStatus;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Reviews tokens with the API server's TokenReview for the gate's audience: only tokens issued for
 * that audience (the projected volume the webhook mounts into migrate-wait) pass, so a pod's
 * ordinary API token does not, and a token stolen from the gate's audience cannot be replayed
 * against the API server. RBAC: create on tokenreviews.authentication.k8s.io.
 *
 * <p>Two answers of an authenticated review are refused all the same:
 *
 * <ul>
 *   <li>empty {@code status.audiences}: the authenticator did not confirm the audience asked for
 *       (an empty list means "the API server's own audiences"), so the token may be one for the API
 *       server;
 *   <li>no {@code authentication.kubernetes.io/pod-name} and {@code pod-uid} in {@code
 *       status.user.extra}: the token is not bound to a pod, e.g. a long-lived {@code kubectl
 *       create token --audience migrate-gate} without {@code --bound-object-kind Pod}. A projected
 *       token is bound to its pod and stops being valid when the pod is deleted.
 * </ul>
 */
public final class KubernetesTokenReviewer implements TokenReviewer {
  /** Set by the API server on tokens bound to a pod (TokenRequest with a Pod boundObjectRef). */
  static final String POD_NAME = "authentication.kubernetes.io/pod-name";

  static final String POD_UID = "authentication.kubernetes.io/pod-uid";

  private final KubernetesClient client;
  private final String audience;

  public KubernetesTokenReviewer(KubernetesClient client, String audience) {
    this.client = Objects.requireNonNull(client, "client");
    this.audience = Objects.requireNonNull(audience, "audience");
  }

  @Override
  public Result review(String token) {
    TokenReview request =
        new TokenReviewBuilder()
            .withNewSpec()
            .withToken(token)
            .withAudiences(audience)
            .endSpec()
            .build();
    TokenReview answer;
    try {
      answer = client.authentication().v1().tokenReviews().create(request);
    } catch (KubernetesClientException e) {
      if (e.getCode() == 403) {
        return new Result.Unavailable(
            "the gate may not create tokenreviews.authentication.k8s.io (check its ClusterRole)");
      }
      return new Result.Unavailable(
          "TokenReview failed: " + (e.getCode() > 0 ? "HTTP " + e.getCode() : rootCause(e)));
    } catch (RuntimeException e) {
      return new Result.Unavailable("TokenReview failed: " + rootCause(e));
    }
    return judge(answer == null ? null : answer.getStatus(), TokenClaims.expiry(token));
  }

  /** The rules above, on a TokenReview's status. */
  Result judge(TokenReviewStatus status, long expiresAtEpochSecond) {
    if (status == null || !Boolean.TRUE.equals(status.getAuthenticated())) {
      String error = status == null ? null : status.getError();
      return new Result.Rejected(
          "the token is not valid for audience "
              + audience
              + (error == null || error.isBlank() ? "" : " (" + error + ")"));
    }
    if (status.getAudiences() == null || status.getAudiences().isEmpty()) {
      return new Result.Rejected(
          "the API server did not confirm audience "
              + audience
              + " (empty status.audiences: the token is for the API server's own audiences)");
    }
    if (!status.getAudiences().contains(audience)) {
      return new Result.Rejected("the token was not issued for audience " + audience);
    }
    String username = status.getUser() == null ? null : status.getUser().getUsername();
    Map<String, List<String>> extra = status.getUser() == null ? null : status.getUser().getExtra();
    String pod = first(extra, POD_NAME);
    if (pod == null || first(extra, POD_UID) == null) {
      return new Result.Rejected(
          "the token of "
              + username
              + " is not bound to a pod (no "
              + POD_NAME
              + " in the TokenReview); only a pod's projected token may ask");
    }
    return Result.Authenticated.of(username, pod, expiresAtEpochSecond);
  }

  private static String first(Map<String, List<String>> extra, String key) {
    List<String> values = extra == null ? null : extra.get(key);
    if (values == null || values.isEmpty() || values.get(0) == null || values.get(0).isEmpty()) {
      return null;
    }
    return values.get(0);
  }

  private static String rootCause(Throwable e) {
    Throwable root = e;
    while (root.getCause() != null && root.getCause() != root) {
      root = root.getCause();
    }
    return root.getClass().getSimpleName()
        + (root.getMessage() == null ? "" : ": " + root.getMessage());
  }
}
