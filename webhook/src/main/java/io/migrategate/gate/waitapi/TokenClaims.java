package io.migrategate.gate.waitapi;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.util.Base64;

/**
 * What a token says about itself, read without checking its signature. Only TokenReview decides
 * that a token is valid; these claims only let the gate refuse, without asking the API server, what
 * cannot be a waiter's token: not a JWT, not for the gate's audience, expired, or not bound to a
 * pod. A flood of garbage tokens then costs no TokenReview at all.
 */
final class TokenClaims {
  /** A ServiceAccount JWT is about 1 KiB; anything much longer is not one. */
  static final int MAX_TOKEN_CHARS = 8192;

  private static final ObjectMapper JSON = new ObjectMapper();

  private TokenClaims() {}

  /**
   * Why {@code token} cannot be a pod-bound token for {@code audience} at {@code nowEpochSecond},
   * or null when it may be one (TokenReview decides).
   */
  static String precheck(String token, String audience, long nowEpochSecond) {
    if (token.isEmpty() || token.length() > MAX_TOKEN_CHARS) {
      return "not a ServiceAccount token (length " + token.length() + ")";
    }
    JsonNode claims = payload(token);
    if (claims == null) {
      return "not a ServiceAccount token (not a JWT)";
    }
    if (!isFor(claims, audience)) {
      return "the token is not issued for audience " + audience;
    }
    JsonNode exp = claims.path("exp");
    if (!exp.canConvertToLong() || exp.asLong() <= nowEpochSecond) {
      return "the token has expired (or has no exp claim)";
    }
    JsonNode pod = claims.path("kubernetes.io").path("pod");
    if (pod.path("name").asText("").isEmpty() || pod.path("uid").asText("").isEmpty()) {
      return "the token is not bound to a pod (a projected ServiceAccount token is; a token from"
          + " 'kubectl create token' without --bound-object-kind Pod is not)";
    }
    return null;
  }

  /** The {@code exp} claim, or 0 when there is none (or the token is no JWT). */
  static long expiry(String token) {
    JsonNode claims = payload(token);
    if (claims == null) {
      return 0;
    }
    JsonNode exp = claims.path("exp");
    return exp.canConvertToLong() ? exp.asLong() : 0;
  }

  /** Whether the claims' {@code aud} (a string or a list) names {@code audience}. */
  static boolean isFor(JsonNode claims, String audience) {
    JsonNode aud = claims.path("aud");
    return aud.isTextual()
        ? aud.asText().equals(audience)
        : aud.isArray() && contains(aud, audience);
  }

  private static boolean contains(JsonNode array, String value) {
    for (JsonNode element : array) {
      if (element.isTextual() && element.asText().equals(value)) {
        return true;
      }
    }
    return false;
  }

  private static JsonNode payload(String token) {
    if (token.length() > MAX_TOKEN_CHARS) {
      return null;
    }
    int first = token.indexOf('.');
    int second = first < 0 ? -1 : token.indexOf('.', first + 1);
    if (first <= 0 || second < 0 || token.indexOf('.', second + 1) >= 0) {
      return null;
    }
    return decode(token.substring(first + 1, second));
  }

  /** One base64url part of a JWT as a JSON object, or null when it is not one. */
  static JsonNode decode(String part) {
    try {
      JsonNode node = JSON.readTree(Base64.getUrlDecoder().decode(part));
      return node != null && node.isObject() ? node : null;
    } catch (IllegalArgumentException | IOException e) {
      return null;
    }
  }
}
