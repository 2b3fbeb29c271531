package io.migrategate.gate.waitapi;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.math.BigInteger;
import java.security.AlgorithmParameters;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PublicKey;
import java.security.spec.ECGenParameterSpec;
import java.security.spec.ECParameterSpec;
import java.security.spec.ECPoint;
import java.security.spec.ECPublicKeySpec;
import java.security.spec.RSAPublicKeySpec;
import java.util.Base64;
import java.util.HashMap;
import java.util.Map;

/**
 * The API server's ServiceAccount token issuer and its public keys, as it publishes them for anyone
 * who verifies its tokens: {@code /.well-known/openid-configuration} ({@code issuer}) and {@code
 * /openid/v1/jwks} (the keys, by {@code kid}). Readable by every ServiceAccount through the default
 * ClusterRoleBinding {@code system:service-account-issuer-discovery}.
 *
 * <p>Only the key types the API server signs with: RSA ({@code RS256}) and EC P-256/384/521 ({@code
 * ES256/384/512}). A key of another type is left out; a token signed with it goes to TokenReview.
 *
 * @param issuer the {@code iss} of tokens the API server issues
 * @param keys public key and JWS algorithm by {@code kid}
 */
record ServiceAccountKeys(String issuer, Map<String, Key> keys) {
  private static final ObjectMapper JSON = new ObjectMapper();

  /** A verification key and the JWS algorithm the API server signs with it. */
  record Key(PublicKey publicKey, String algorithm) {}

  ServiceAccountKeys {
    keys = Map.copyOf(keys);
  }

  /**
   * Parses the two documents.
   *
   * @throws IllegalArgumentException naming what is missing or malformed
   */
  static ServiceAccountKeys parse(String openidConfiguration, String jwks) {
    JsonNode discovery = read(openidConfiguration, "/.well-known/openid-configuration");
    String issuer = discovery.path("issuer").asText("");
    if (issuer.isEmpty()) {
      throw new IllegalArgumentException(
          "/.well-known/openid-configuration has no issuer (is --service-account-issuer set?)");
    }
    Map<String, Key> keys = new HashMap<>();
    for (JsonNode jwk : read(jwks, "/openid/v1/jwks").path("keys")) {
      String kid = jwk.path("kid").asText("");
      if (kid.isEmpty()) {
        continue;
      }
      try {
        Key key = key(jwk);
        if (key != null) {
          keys.put(kid, key);
        }
      } catch (GeneralSecurityException | IllegalArgumentException e) {
        throw new IllegalArgumentException(
            "/openid/v1/jwks: key " + kid + " cannot be read: " + e.getMessage(), e);
      }
    }
    return new ServiceAccountKeys(issuer, keys);
  }

  private static Key key(JsonNode jwk) throws GeneralSecurityException {
    switch (jwk.path("kty").asText("")) {
      case "RSA" -> {
        RSAPublicKeySpec spec = new RSAPublicKeySpec(number(jwk, "n"), number(jwk, "e"));
        return new Key(KeyFactory.getInstance("RSA").generatePublic(spec), "RS256");
      }
      case "EC" -> {
        String curve = jwk.path("crv").asText("");
        String[] named =
            switch (curve) {
              case "P-256" -> new String[] {"secp256r1", "ES256"};
              case "P-384" -> new String[] {"secp384r1", "ES384"};
              case "P-521" -> new String[] {"secp521r1", "ES512"};
              default -> null;
            };
        if (named == null) {
          return null;
        }
        AlgorithmParameters parameters = AlgorithmParameters.getInstance("EC");
        parameters.init(new ECGenParameterSpec(named[0]));
        ECPublicKeySpec spec =
            new ECPublicKeySpec(
                new ECPoint(number(jwk, "x"), number(jwk, "y")),
                parameters.getParameterSpec(ECParameterSpec.class));
        return new Key(KeyFactory.getInstance("EC").generatePublic(spec), named[1]);
      }
      default -> {
        return null;
      }
    }
  }

  private static BigInteger number(JsonNode jwk, String field) {
    String value = jwk.path(field).asText("");
    if (value.isEmpty()) {
      throw new IllegalArgumentException("no " + field);
    }
    return new BigInteger(1, Base64.getUrlDecoder().decode(value));
  }

  private static JsonNode read(String json, String what) {
    try {
      JsonNode node = json == null ? null : JSON.readTree(json);
      if (node == null || !node.isObject()) {
        throw new IllegalArgumentException(what + " is not a JSON object");
      }
      return node;
    } catch (IOException e) {
      throw new IllegalArgumentException(what + " is not JSON: " + e.getMessage(), e);
    }
  }
}
