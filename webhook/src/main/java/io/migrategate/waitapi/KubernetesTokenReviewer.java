package io.migrategate.waitapi;

import io.fabric8.kubernetes.api.model.authentication.TokenReview;
import io.fabric8.kubernetes.api.model.authentication.TokenReviewBuilder;
import io.fabric8.kubernetes.api.model.authentication.TokenReviewStatus;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Objects;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reviews tokens with the API server's TokenReview for the gate's audience: only tokens issued for
 * that audience (the projected volume the webhook mounts into migrate-wait) pass, so a pod's
 * ordinary API token does not, and a token stolen from the gate's audience cannot be replayed
 * against the API server. RBAC: create on tokenreviews.authentication.k8s.io.
 */
public final class KubernetesTokenReviewer implements TokenReviewer {
  private static final Pattern EXP = Pattern.compile("\"exp\"\\s*:\\s*(\\d+)");

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
    TokenReviewStatus status = answer == null ? null : answer.getStatus();
    if (status == null || !Boolean.TRUE.equals(status.getAuthenticated())) {
      String error = status == null ? null : status.getError();
      return new Result.Rejected(
          "the token is not valid for audience "
              + audience
              + (error == null || error.isBlank() ? "" : " (" + error + ")"));
    }
    if (status.getAudiences() != null
        && !status.getAudiences().isEmpty()
        && !status.getAudiences().contains(audience)) {
      return new Result.Rejected("the token was not issued for audience " + audience);
    }
    String username = status.getUser() == null ? null : status.getUser().getUsername();
    return Result.Authenticated.of(username, expiry(token));
  }

  /** The {@code exp} claim of a JWT that TokenReview just accepted, or 0. */
  static long expiry(String token) {
    String[] parts = token.split("\\.");
    if (parts.length != 3) {
      return 0;
    }
    try {
      String payload = new String(Base64.getUrlDecoder().decode(parts[1]), StandardCharsets.UTF_8);
      Matcher exp = EXP.matcher(payload);
      return exp.find() ? Long.parseLong(exp.group(1)) : 0;
    } catch (IllegalArgumentException e) {
      return 0;
    }
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
