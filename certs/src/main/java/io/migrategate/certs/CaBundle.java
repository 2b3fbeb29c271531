package io.migrategate.certs;

import java.nio.charset.StandardCharsets;
import java.security.cert.X509Certificate;
import java.util.Base64;
import java.util.List;

/**
 * The {@code caBundle} of a webhook configuration: base64 of one or more PEM CA certificates. More
 * than one during a CA rotation, when clients must trust both the old and the new CA.
 */
public final class CaBundle {
  private CaBundle() {}

  /** The caBundle value for PEM text holding one or more CA certificates. */
  public static String encode(String caCertificatesPem) {
    Pem.readCertificates(caCertificatesPem); // refuse to publish a bundle no client could use
    return Base64.getEncoder()
        .encodeToString(caCertificatesPem.getBytes(StandardCharsets.US_ASCII));
  }

  /** The caBundle value trusting each of the given CA certificates. */
  public static String encode(List<X509Certificate> caCertificates) {
    return encode(Pem.writeCertificates(caCertificates));
  }

  /**
   * The CA certificates of a caBundle value.
   *
   * @throws PemException when the value is not base64 of PEM certificates
   */
  public static List<X509Certificate> decode(String caBundle) {
    byte[] pem;
    try {
      // Line breaks are tolerated (wrapped base64 pasted into YAML), other stray characters not.
      pem = Base64.getDecoder().decode(caBundle == null ? "" : caBundle.replaceAll("\\s", ""));
    } catch (IllegalArgumentException e) {
      throw new PemException("caBundle is not valid base64: " + e.getMessage(), e);
    }
    try {
      return Pem.readCertificates(new String(pem, StandardCharsets.US_ASCII));
    } catch (PemException e) {
      throw new PemException("caBundle: " + e.getMessage(), e);
    }
  }

  /** Whether a client using {@code caBundle} trusts certificates signed by {@code issuer}. */
  public static boolean trusts(String caBundle, X509Certificate issuer) {
    return decode(caBundle).contains(issuer);
  }
}
