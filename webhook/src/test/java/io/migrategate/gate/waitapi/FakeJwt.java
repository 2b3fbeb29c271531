package io.migrategate.gate.waitapi;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.UUID;

/**
 * Unsigned JWTs shaped like ServiceAccount tokens: they pass the gate's pre-check (which reads the
 * claims only) when asked to, and no TokenReview ever accepts them.
 */
public final class FakeJwt {
  private FakeJwt() {}

  /** A token for {@code audience}, expiring {@code exp}, bound to a pod when {@code podBound}. */
  public static String of(String audience, long exp, boolean podBound) {
    String pod =
        podBound
            ? ",\"kubernetes.io\":{\"namespace\":\"shop\",\"pod\":{\"name\":\"web-1\",\"uid\":\""
                + UUID.randomUUID()
                + "\"},\"serviceaccount\":{\"name\":\"app\",\"uid\":\"x\"}}"
            : ",\"kubernetes.io\":{\"namespace\":\"shop\",\"serviceaccount\":{\"name\":\"app\"}}";
    String claims =
        "{\"aud\":[\""
            + audience
            + "\"],\"exp\":"
            + exp
            + ",\"iss\":\"https://kubernetes.default.svc.cluster.local\",\"jti\":\""
            + UUID.randomUUID()
            + "\""
            + pod
            + ",\"sub\":\"system:serviceaccount:shop:app\"}";
    Base64.Encoder base64 = Base64.getUrlEncoder().withoutPadding();
    return base64.encodeToString(
            "{\"alg\":\"RS256\",\"kid\":\"k\"}".getBytes(StandardCharsets.UTF_8))
        + "."
        + base64.encodeToString(claims.getBytes(StandardCharsets.UTF_8))
        + "."
        + base64.encodeToString(UUID.randomUUID().toString().getBytes(StandardCharsets.UTF_8));
  }

  /** A pod-bound token for the gate's audience, valid for an hour by its claims. */
  public static String podBound() {
    return of(TokenReviewer.DEFAULT_AUDIENCE, System.currentTimeMillis() / 1000 + 3600, true);
  }
}
