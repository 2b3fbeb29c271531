package io.migrategate.gate.tls;

import io.fabric8.kubernetes.api.model.Secret;
import io.migrategate.certs.CertificateAuthority;
import io.migrategate.certs.Pem;
import io.migrategate.certs.PemException;
import java.nio.charset.StandardCharsets;
import java.security.cert.X509Certificate;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The data keys of the CA Secret. Only CA material is stored there; serving keys never are.
 *
 * <ul>
 *   <li>{@code ca.crt}: the signing CA certificate (PEM);
 *   <li>{@code ca.key}: its private key (PKCS#8 PEM);
 *   <li>{@code ca-bundle.crt}: every CA clients must trust, signing CA first (PEM). Optional: a CA
 *       put there by hand without it is trusted alone.
 *   <li>{@code next-ca.crt}, {@code next-ca.key}: the CA that signs after the next rotation, made
 *       ahead and already in the bundle. Optional: the gate adds them.
 * </ul>
 */
final class CaSecretFormat {
  static final String CA_CERTIFICATE = "ca.crt";
  static final String CA_PRIVATE_KEY = "ca.key";
  static final String TRUST_BUNDLE = "ca-bundle.crt";
  static final String NEXT_CA_CERTIFICATE = "next-ca.crt";
  static final String NEXT_CA_PRIVATE_KEY = "next-ca.key";

  private CaSecretFormat() {}

  /**
   * The CA in a Secret, or null when the Secret holds none yet (neither {@code ca.crt} nor {@code
   * ca.key}).
   *
   * @throws InvalidCaSecretException when the CA is half there or unusable
   */
  static CaContent decode(Secret secret) {
    String where =
        "Secret " + secret.getMetadata().getNamespace() + "/" + secret.getMetadata().getName();
    Map<String, String> data = secret.getData() == null ? Map.of() : secret.getData();
    String certificate = text(data, CA_CERTIFICATE, where);
    String key = text(data, CA_PRIVATE_KEY, where);
    if (certificate == null && key == null) {
      return null;
    }
    if (certificate == null || key == null) {
      throw new InvalidCaSecretException(
          where
              + " has "
              + (certificate == null ? CA_PRIVATE_KEY + " but no " + CA_CERTIFICATE : "")
              + (key == null ? CA_CERTIFICATE + " but no " + CA_PRIVATE_KEY : "")
              + "; put back the missing key, or remove both (and "
              + TRUST_BUNDLE
              + ") so that the gate generates a new CA",
          null);
    }
    CertificateAuthority signer;
    try {
      signer = CertificateAuthority.fromPem(certificate, key);
    } catch (PemException e) {
      throw new InvalidCaSecretException(
          where
              + " keys "
              + CA_CERTIFICATE
              + "/"
              + CA_PRIVATE_KEY
              + " are unusable: "
              + e.getMessage()
              + "; store a CA certificate and its key as PEM, or remove both so that the gate"
              + " generates a new CA",
          e);
    }
    String bundle = text(data, TRUST_BUNDLE, where);
    List<X509Certificate> trusted;
    try {
      trusted = bundle == null ? List.of() : Pem.readCertificates(bundle);
    } catch (PemException e) {
      throw new InvalidCaSecretException(
          where
              + " key "
              + TRUST_BUNDLE
              + " is unusable: "
              + e.getMessage()
              + "; store PEM CA certificates there, or remove the key to trust "
              + CA_CERTIFICATE
              + " alone",
          e);
    }
    String nextCertificate = text(data, NEXT_CA_CERTIFICATE, where);
    String nextKey = text(data, NEXT_CA_PRIVATE_KEY, where);
    CertificateAuthority next = null;
    if (nextCertificate != null && nextKey != null) {
      try {
        next = CertificateAuthority.fromPem(nextCertificate, nextKey);
      } catch (PemException e) {
        // Unusable: the gate makes a new next CA, as if there were none.
        next = null;
      }
    }
    return new CaContent(signer, trusted, next);
  }

  /** The Secret data (base64 values) for a CA. */
  static Map<String, String> encode(CaContent content) {
    Map<String, String> data = new LinkedHashMap<>();
    data.put(CA_CERTIFICATE, base64(content.signer().certificatePem()));
    data.put(CA_PRIVATE_KEY, base64(content.signer().privateKeyPem()));
    data.put(TRUST_BUNDLE, base64(Pem.writeCertificates(content.trusted())));
    if (content.next() != null) {
      data.put(NEXT_CA_CERTIFICATE, base64(content.next().certificatePem()));
      data.put(NEXT_CA_PRIVATE_KEY, base64(content.next().privateKeyPem()));
    }
    return data;
  }

  private static String text(Map<String, String> data, String key, String where) {
    String value = data.get(key);
    if (value == null || value.isEmpty()) {
      return null;
    }
    try {
      return new String(Base64.getDecoder().decode(value), StandardCharsets.US_ASCII);
    } catch (IllegalArgumentException e) {
      throw new InvalidCaSecretException(
          where + " key " + key + " is not valid base64: " + e.getMessage(), e);
    }
  }

  private static String base64(String text) {
    return Base64.getEncoder().encodeToString(text.getBytes(StandardCharsets.US_ASCII));
  }
}
