package io.migrategate.gate.waitapi;

import com.fasterxml.jackson.databind.JsonNode;
import io.migrategate.gate.observability.PrometheusText;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.Signature;
import java.util.Base64;
import java.util.EnumMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.LongSupplier;

/**
 * Accepts a waiter's token without asking the API server, when everything TokenReview would check
 * can be checked here: the signature with the API server's published keys ({@link
 * ServiceAccountKeys}), the issuer, the gate's audience, the expiry, and the pod binding — the pod
 * named in the token exists now with the token's uid and ServiceAccount ({@link LivePods}: the
 * gate's cache of pending pods, where every waiting pod is). Then 5,000 waiting pods cost no API
 * call at all (issue 13), where TokenReview costs one each.
 *
 * <p>It only ever says yes. Whatever it cannot prove (keys not loaded yet, an unknown key, another
 * issuer, a pod the cache does not hold — just created, or no longer pending) goes to TokenReview
 * as before, with its cache and bounds; so does every invalid token, which TokenReview then
 * rejects. The one thing not checked here that TokenReview checks: that the token's ServiceAccount
 * still exists — a pod whose ServiceAccount was deleted while it waits keeps its answer until the
 * pod leaves Pending or the token expires (at most an hour).
 */
public final class LocalTokenVerifier {
  /** Allowed clock difference to the API server for {@code nbf}. */
  static final long CLOCK_SKEW_SECONDS = 60;

  /** Why a token went to TokenReview. */
  enum Fallback {
    KEYS_UNAVAILABLE("keys-unavailable"),
    UNKNOWN_KEY("unknown-key"),
    NOT_VERIFIED("not-verified"),
    POD_NOT_CACHED("pod-not-cached");

    final String label;

    Fallback(String label) {
      this.label = label;
    }
  }

  /** The pods that exist now, as far as the gate has seen (its cache of pending pods). */
  public interface LivePods {
    /** The pod, or null when the cache does not hold it (or has not synced). */
    BoundPod find(String namespace, String name);

    /** Pods held now. */
    int size();
  }

  /** What a token's pod binding is checked against. */
  public record BoundPod(String uid, String serviceAccount, boolean deleting) {}

  /** The API server's keys as last read, and a way to ask for a fresh read. */
  public interface Keys {
    /** The keys, or null while none could be read. */
    ServiceAccountKeys current();

    /** A token names a key not among {@link #current}: read them again soon (rate-limited). */
    void refreshSoon();
  }

  private final String audience;
  private final Keys keys;
  private final LivePods pods;
  private final LongSupplier epochSecond;
  private final LongAdder verified = new LongAdder();
  private final Map<Fallback, LongAdder> fallbacks = new EnumMap<>(Fallback.class);

  public LocalTokenVerifier(String audience, Keys keys, LivePods pods, LongSupplier epochSecond) {
    this.audience = audience;
    this.keys = keys;
    this.pods = pods;
    this.epochSecond = epochSecond;
    for (Fallback fallback : Fallback.values()) {
      fallbacks.put(fallback, new LongAdder());
    }
  }

  /**
   * The token's identity when it is proven valid here; empty when TokenReview must decide. Never
   * blocks (an event loop calls it).
   */
  Optional<TokenReviewer.Result.Authenticated> verify(String token) {
    Fallback why = null;
    TokenReviewer.Result.Authenticated identity = null;
    ServiceAccountKeys current = keys.current();
    if (current == null) {
      why = Fallback.KEYS_UNAVAILABLE;
    } else {
      String[] parts = token.split("\\.", -1);
      JsonNode header = parts.length == 3 ? TokenClaims.decode(parts[0]) : null;
      ServiceAccountKeys.Key key =
          header == null ? null : current.keys().get(header.path("kid").asText(""));
      if (key == null) {
        why = Fallback.UNKNOWN_KEY;
        if (header != null && !header.path("kid").asText("").isEmpty()) {
          keys.refreshSoon();
        }
      } else if (!key.algorithm().equals(header.path("alg").asText(""))
          || !signatureValid(key, parts)) {
        why = Fallback.NOT_VERIFIED;
      } else {
        JsonNode claims = TokenClaims.decode(parts[1]);
        identity = claims == null ? null : identity(claims, current.issuer());
        if (identity == null) {
          why = Fallback.NOT_VERIFIED;
        } else if (!boundToLivePod(identity, claims)) {
          why = Fallback.POD_NOT_CACHED;
          identity = null;
        }
      }
    }
    if (identity != null) {
      verified.increment();
      return Optional.of(identity);
    }
    fallbacks.get(why).increment();
    return Optional.empty();
  }

  /** The claims' identity, when issuer, audience, validity period and pod binding are in order. */
  private TokenReviewer.Result.Authenticated identity(JsonNode claims, String issuer) {
    if (!issuer.equals(claims.path("iss").asText(""))) {
      return null;
    }
    boolean forUs = TokenClaims.isFor(claims, audience);
    long now = epochSecond.getAsLong();
    JsonNode exp = claims.path("exp");
    JsonNode nbf = claims.path("nbf");
    if (!forUs
        || !exp.canConvertToLong()
        || exp.asLong() <= now
        || (nbf.canConvertToLong() && nbf.asLong() > now + CLOCK_SKEW_SECONDS)) {
      return null;
    }
    JsonNode kubernetes = claims.path("kubernetes.io");
    String namespace = kubernetes.path("namespace").asText("");
    String serviceAccount = kubernetes.path("serviceaccount").path("name").asText("");
    String pod = kubernetes.path("pod").path("name").asText("");
    String username =
        TokenReviewer.Result.Authenticated.SERVICE_ACCOUNT_PREFIX
            + namespace
            + ":"
            + serviceAccount;
    if (namespace.isEmpty()
        || serviceAccount.isEmpty()
        || pod.isEmpty()
        || kubernetes.path("pod").path("uid").asText("").isEmpty()
        || !username.equals(claims.path("sub").asText(""))) {
      return null;
    }
    return TokenReviewer.Result.Authenticated.of(username, pod, exp.asLong());
  }

  private boolean boundToLivePod(TokenReviewer.Result.Authenticated identity, JsonNode claims) {
    BoundPod pod = pods.find(identity.namespace(), identity.pod());
    return pod != null
        && !pod.deleting()
        && pod.uid().equals(claims.path("kubernetes.io").path("pod").path("uid").asText())
        && identity.serviceAccount().equals(pod.serviceAccount());
  }

  private static boolean signatureValid(ServiceAccountKeys.Key key, String[] parts) {
    try {
      Signature signature =
          Signature.getInstance(
              switch (key.algorithm()) {
                case "RS256" -> "SHA256withRSA";
                case "ES256" -> "SHA256withECDSAinP1363Format";
                case "ES384" -> "SHA384withECDSAinP1363Format";
                case "ES512" -> "SHA512withECDSAinP1363Format";
                default -> throw new GeneralSecurityException("unsupported " + key.algorithm());
              });
      signature.initVerify(key.publicKey());
      signature.update((parts[0] + "." + parts[1]).getBytes(StandardCharsets.US_ASCII));
      return signature.verify(Base64.getUrlDecoder().decode(parts[2]));
    } catch (GeneralSecurityException | IllegalArgumentException e) {
      return false;
    }
  }

  /** Tokens accepted here, without TokenReview. */
  long verified() {
    return verified.sum();
  }

  long fallbacks(Fallback why) {
    return fallbacks.get(why).sum();
  }

  /** Appended to the wait API's metrics. */
  void renderMetrics(PrometheusText out) {
    out.gauge(
        "migrate_gate_pending_pods",
        "Pending pods in the gate's cache, against which waiter tokens are verified (grows with"
            + " the pods pending cluster-wide at one time, about 200 bytes each).",
        pods.size());
    out.family(
        "migrate_gate_token_local_fallbacks_total",
        "counter",
        "Tokens not verified by the gate itself and sent to TokenReview, by reason:"
            + " keys-unavailable, unknown-key (keys re-read), not-verified (signature, issuer,"
            + " audience, expiry or claims), pod-not-cached (the pod is not a pending pod the gate"
            + " has seen).");
    for (Fallback fallback : Fallback.values()) {
      out.sample(
          "migrate_gate_token_local_fallbacks_total",
          PrometheusText.label("reason", fallback.label),
          fallbacks(fallback));
    }
  }
}
