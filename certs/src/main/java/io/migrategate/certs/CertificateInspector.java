package io.migrategate.certs;

import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import javax.security.auth.x500.X500Principal;

/** Reads validity and names out of certificates, for expiry checks, metrics and the CLI. */
public final class CertificateInspector {
  // GeneralName tags (RFC 5280) as reported by X509Certificate.getSubjectAlternativeNames().
  private static final int DNS_NAME = 2;
  private static final int IP_ADDRESS = 7;

  private CertificateInspector() {}

  /**
   * notAfter of the first certificate in the PEM text; in a chain file that is the leaf.
   *
   * @throws PemException when the text holds no certificate
   */
  public static Instant notAfter(String pem) {
    return Pem.readCertificates(pem).get(0).getNotAfter().toInstant();
  }

  /** Time until the first certificate of the PEM text expires; negative once expired. */
  public static Duration remainingValidity(String pem, Instant now) {
    return Duration.between(now, notAfter(pem));
  }

  /** Time until the certificate expires; negative once expired. */
  public static Duration remainingValidity(X509Certificate certificate, Instant now) {
    return Duration.between(now, certificate.getNotAfter().toInstant());
  }

  /** Every certificate of a PEM text (e.g. a CA bundle), in file order. */
  public static List<CertificateSummary> describeAll(String pem) {
    return Pem.readCertificates(pem).stream().map(CertificateInspector::describe).toList();
  }

  public static CertificateSummary describe(X509Certificate certificate) {
    List<String> dnsNames = new ArrayList<>();
    List<String> ipAddresses = new ArrayList<>();
    for (List<?> name : subjectAltNames(certificate)) {
      int tag = (Integer) name.get(0);
      if (tag == DNS_NAME) {
        dnsNames.add((String) name.get(1));
      } else if (tag == IP_ADDRESS) {
        ipAddresses.add((String) name.get(1));
      }
    }
    return new CertificateSummary(
        certificate.getSubjectX500Principal().getName(X500Principal.RFC2253),
        certificate.getIssuerX500Principal().getName(X500Principal.RFC2253),
        certificate.getSerialNumber().toString(16),
        certificate.getNotBefore().toInstant(),
        certificate.getNotAfter().toInstant(),
        dnsNames,
        ipAddresses,
        certificate.getBasicConstraints() >= 0);
  }

  private static Collection<List<?>> subjectAltNames(X509Certificate certificate) {
    try {
      Collection<List<?>> names = certificate.getSubjectAlternativeNames();
      return names == null ? List.of() : names;
    } catch (CertificateParsingException e) {
      throw new PemException("certificate has a malformed subjectAltName extension: " + e, e);
    }
  }
}
