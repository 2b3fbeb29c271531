package io.migrategate.gate.waitapi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.migrategate.gate.waitapi.LocalTokenVerifier.BoundPod;
import io.migrategate.gate.waitapi.LocalTokenVerifier.Fallback;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.Signature;
import java.security.interfaces.ECPublicKey;
import java.security.interfaces.RSAPublicKey;
import java.security.spec.ECGenParameterSpec;
import java.util.Base64;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * Tokens signed here with RSA and EC keys, shaped as the API server issues them: only a token whose
 * signature, claims and pending pod all check out is accepted without TokenReview; every other one
 * goes to TokenReview (empty), counted by reason. The same against a real API server's keys and
 * tokens: {@code gate/GateSecurityClusterTest}.
 */
class LocalTokenVerifierTest {
  static final String ISSUER = "https://kubernetes.default.svc.cluster.local";
  static final long NOW = 1_800_000_000L;
  static final String POD_UID = "0d6e6a2f-7c35-4c1e-9a43-1f0e6b6d9e01";

  private static final Base64.Encoder B64 = Base64.getUrlEncoder().withoutPadding();

  private final KeyPair rsa = generate("RSA", null);
  private final KeyPair ec = generate("EC", "secp256r1");
  private final Map<String, BoundPod> pods = new HashMap<>();
  private final AtomicInteger refreshes = new AtomicInteger();
  private ServiceAccountKeys keys =
      ServiceAccountKeys.parse(
          "{\"issuer\":\"" + ISSUER + "\",\"jwks_uri\":\"" + ISSUER + "/openid/v1/jwks\"}",
          "{\"keys\":[" + rsaJwk("rsa-1", rsa) + "," + ecJwk("ec-1", ec) + "]}");

  private final LocalTokenVerifier verifier =
      new LocalTokenVerifier(
          "migrate-gate",
          new LocalTokenVerifier.Keys() {
            @Override
            public ServiceAccountKeys current() {
              return keys;
            }

            @Override
            public void refreshSoon() {
              refreshes.incrementAndGet();
            }
          },
          new LocalTokenVerifier.LivePods() {
            @Override
            public BoundPod find(String namespace, String name) {
              return pods.get(namespace + "/" + name);
            }

            @Override
            public int size() {
              return pods.size();
            }
          },
          () -> NOW);

  LocalTokenVerifierTest() {
    pods.put("shop/web-1", new BoundPod(POD_UID, "app", false));
  }

  @Test
  void aWaitersTokenOfAPendingPodIsAcceptedWithoutTokenReview() {
    for (String token :
        new String[] {
          token("RS256", "rsa-1", rsa.getPrivate(), claims()),
          token("ES256", "ec-1", ec.getPrivate(), claims())
        }) {
      TokenReviewer.Result.Authenticated caller = verifier.verify(token).orElseThrow();
      assertEquals("system:serviceaccount:shop:app", caller.username());
      assertEquals("shop", caller.namespace());
      assertEquals("app", caller.serviceAccount());
      assertEquals("web-1", caller.pod());
      assertEquals(NOW + 600, caller.expiresAtEpochSecond());
    }
    assertEquals(2, verifier.verified());
  }

  @Test
  void aPodTheCacheDoesNotHoldAsPendingGoesToTokenReview() {
    String token = token("RS256", "rsa-1", rsa.getPrivate(), claims());
    pods.clear(); // just created, started, or deleted
    assertRefused(token, Fallback.POD_NOT_CACHED);
    pods.put("shop/web-1", new BoundPod("another-uid", "app", false)); // re-created, same name
    assertRefused(token, Fallback.POD_NOT_CACHED);
    pods.put("shop/web-1", new BoundPod(POD_UID, "other", false));
    assertRefused(token, Fallback.POD_NOT_CACHED);
    pods.put("shop/web-1", new BoundPod(POD_UID, "app", true)); // being deleted
    assertRefused(token, Fallback.POD_NOT_CACHED);
    assertEquals(4, verifier.fallbacks(Fallback.POD_NOT_CACHED));
  }

  @Test
  void aTokenNotSignedByThePublishedKeyGoesToTokenReview() {
    KeyPair other = generate("RSA", null);
    assertRefused(token("RS256", "rsa-1", other.getPrivate(), claims()), Fallback.NOT_VERIFIED);
    // The algorithm is the key's, never the token's choice.
    assertRefused(token("ES256", "rsa-1", ec.getPrivate(), claims()), Fallback.NOT_VERIFIED);
    String unsigned =
        B64.encodeToString("{\"alg\":\"none\",\"kid\":\"rsa-1\"}".getBytes(StandardCharsets.UTF_8))
            + "."
            + B64.encodeToString(claims().getBytes(StandardCharsets.UTF_8))
            + ".";
    assertRefused(unsigned, Fallback.NOT_VERIFIED);
    String rsaToken = token("RS256", "rsa-1", rsa.getPrivate(), claims());
    String[] parts = rsaToken.split("\\.");
    String otherClaims =
        B64.encodeToString(claims().replace("web-1", "web-2").getBytes(StandardCharsets.UTF_8));
    assertRefused(parts[0] + "." + otherClaims + "." + parts[2], Fallback.NOT_VERIFIED);
    assertEquals(0, refreshes.get());
  }

  @Test
  void claimsTokenReviewWouldRefuseGoToTokenReview() {
    String base = claims();
    for (String claims :
        new String[] {
          base.replace(ISSUER, "https://other.example"),
          base.replace("\"migrate-gate\"", "\"https://kubernetes.default.svc\""),
          base.replace("\"exp\":" + (NOW + 600), "\"exp\":" + NOW),
          base.replace("\"nbf\":" + (NOW - 10), "\"nbf\":" + (NOW + 3600)),
          base.replace("\"sub\":\"system:serviceaccount:shop:app\"", "\"sub\":\"someone\""),
          base.replace(",\"pod\":{\"name\":\"web-1\",\"uid\":\"" + POD_UID + "\"}", "")
        }) {
      assertFalse(
          verifier.verify(token("RS256", "rsa-1", rsa.getPrivate(), claims)).isPresent(), claims);
    }
    assertEquals(6, verifier.fallbacks(Fallback.NOT_VERIFIED));
  }

  @Test
  void anUnknownKeyAsksForTheKeysAgainAndNoKeysMeanTokenReview() {
    assertRefused(token("RS256", "rotated", rsa.getPrivate(), claims()), Fallback.UNKNOWN_KEY);
    assertEquals(1, refreshes.get());
    assertRefused("not-a-jwt", Fallback.UNKNOWN_KEY);
    assertEquals(1, refreshes.get(), "no key id, nothing to read again for");
    keys = null;
    assertRefused(token("RS256", "rsa-1", rsa.getPrivate(), claims()), Fallback.KEYS_UNAVAILABLE);
  }

  @Test
  void thePublishedDocumentsAreReadOrRefusedWithTheReason() {
    assertEquals(ISSUER, keys.issuer());
    assertEquals("RS256", keys.keys().get("rsa-1").algorithm());
    assertEquals("ES256", keys.keys().get("ec-1").algorithm());
    ServiceAccountKeys skipped =
        ServiceAccountKeys.parse(
            "{\"issuer\":\"" + ISSUER + "\"}",
            "{\"keys\":[{\"kty\":\"OKP\",\"kid\":\"ed\"},{\"kty\":\"RSA\"}]}");
    assertTrue(skipped.keys().isEmpty(), "unknown key types and keys without kid are left out");
    IllegalArgumentException noIssuer =
        assertThrows(
            IllegalArgumentException.class, () -> ServiceAccountKeys.parse("{}", "{\"keys\":[]}"));
    assertTrue(noIssuer.getMessage().contains("--service-account-issuer"), noIssuer.getMessage());
    IllegalArgumentException notFound =
        assertThrows(
            IllegalArgumentException.class,
            () -> ServiceAccountKeys.parse("{\"issuer\":\"x\"}", null));
    assertTrue(notFound.getMessage().contains("/openid/v1/jwks"), notFound.getMessage());
  }

  @Test
  void unknownKeysReadTheKeysAgainAtMostOncePerInterval() throws Exception {
    AtomicInteger reads = new AtomicInteger();
    AtomicLong nanos = new AtomicLong(1);
    ScheduledExecutorService thread = Executors.newSingleThreadScheduledExecutor();
    PublishedKeys published =
        new PublishedKeys(
            () -> {
              reads.incrementAndGet();
              return keys;
            },
            nanos::get,
            thread);
    published.readNow();
    for (int i = 0; i < 100; i++) {
      published.refreshSoon();
    }
    nanos.addAndGet(PublishedKeys.MIN_INTERVAL.toNanos());
    published.refreshSoon();
    published.refreshSoon();
    thread.shutdown();
    assertTrue(thread.awaitTermination(10, TimeUnit.SECONDS));
    assertEquals(2, reads.get(), "the start's read and one after the interval");
    assertEquals(keys, published.current());
  }

  private void assertRefused(String token, Fallback why) {
    long before = verifier.fallbacks(why);
    Optional<TokenReviewer.Result.Authenticated> result = verifier.verify(token);
    assertFalse(result.isPresent(), "accepted: " + result);
    assertEquals(before + 1, verifier.fallbacks(why), "counted as " + why.label);
  }

  /** Claims as the API server writes them for a projected token of pod shop/web-1. */
  static String claims() {
    return "{\"aud\":[\"migrate-gate\"],\"exp\":"
        + (NOW + 600)
        + ",\"iat\":"
        + (NOW - 10)
        + ",\"iss\":\""
        + ISSUER
        + "\",\"jti\":\"5f1c\",\"kubernetes.io\":{\"namespace\":\"shop\",\"node\":{\"name\":\"n\","
        + "\"uid\":\"n1\"},\"pod\":{\"name\":\"web-1\",\"uid\":\""
        + POD_UID
        + "\"},\"serviceaccount\":{\"name\":\"app\",\"uid\":\"sa1\"}},\"nbf\":"
        + (NOW - 10)
        + ",\"sub\":\"system:serviceaccount:shop:app\"}";
  }

  static String token(String alg, String kid, PrivateKey key, String claims) {
    String signingInput =
        B64.encodeToString(
                ("{\"alg\":\"" + alg + "\",\"kid\":\"" + kid + "\"}")
                    .getBytes(StandardCharsets.UTF_8))
            + "."
            + B64.encodeToString(claims.getBytes(StandardCharsets.UTF_8));
    try {
      Signature signature =
          Signature.getInstance(
              key.getAlgorithm().equals("RSA") ? "SHA256withRSA" : "SHA256withECDSAinP1363Format");
      signature.initSign(key);
      signature.update(signingInput.getBytes(StandardCharsets.US_ASCII));
      return signingInput + "." + B64.encodeToString(signature.sign());
    } catch (java.security.GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  private static String rsaJwk(String kid, KeyPair pair) {
    RSAPublicKey key = (RSAPublicKey) pair.getPublic();
    return "{\"use\":\"sig\",\"kty\":\"RSA\",\"kid\":\""
        + kid
        + "\",\"alg\":\"RS256\",\"n\":\""
        + unsigned(key.getModulus())
        + "\",\"e\":\""
        + unsigned(key.getPublicExponent())
        + "\"}";
  }

  private static String ecJwk(String kid, KeyPair pair) {
    ECPublicKey key = (ECPublicKey) pair.getPublic();
    return "{\"use\":\"sig\",\"kty\":\"EC\",\"kid\":\""
        + kid
        + "\",\"crv\":\"P-256\",\"alg\":\"ES256\",\"x\":\""
        + unsigned(key.getW().getAffineX())
        + "\",\"y\":\""
        + unsigned(key.getW().getAffineY())
        + "\"}";
  }

  private static String unsigned(BigInteger value) {
    byte[] bytes = value.toByteArray();
    if (bytes.length > 1 && bytes[0] == 0) {
      bytes = java.util.Arrays.copyOfRange(bytes, 1, bytes.length);
    }
    return B64.encodeToString(bytes);
  }

  private static KeyPair generate(String algorithm, String curve) {
    try {
      KeyPairGenerator generator = KeyPairGenerator.getInstance(algorithm);
      if (curve != null) {
        generator.initialize(new ECGenParameterSpec(curve));
      } else {
        generator.initialize(2048);
      }
      return generator.generateKeyPair();
    } catch (java.security.GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }
}
