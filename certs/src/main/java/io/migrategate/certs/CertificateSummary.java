package io.migrategate.certs;

import java.time.Duration;
import java.time.Instant;
import java.util.List;

/**
 * What an operator wants to know about a certificate.
 *
 * @param subject subject distinguished name (RFC 2253)
 * @param issuer issuer distinguished name (RFC 2253)
 * @param serialNumber serial number in hexadecimal
 * @param dnsNames DNS subjectAltNames
 * @param ipAddresses IP subjectAltNames
 * @param certificateAuthority whether basicConstraints says CA:true
 */
public record CertificateSummary(
    String subject,
    String issuer,
    String serialNumber,
    Instant notBefore,
    Instant notAfter,
    List<String> dnsNames,
    List<String> ipAddresses,
    boolean certificateAuthority) {

  public CertificateSummary {
    dnsNames = List.copyOf(dnsNames);
    ipAddresses = List.copyOf(ipAddresses);
  }

  /** Time left until notAfter; negative once expired. */
  public Duration remainingValidity(Instant now) {
    return Duration.between(now, notAfter);
  }

  /** Whether the certificate is within its validity window at {@code now}. */
  public boolean isValidAt(Instant now) {
    return !now.isBefore(notBefore) && !now.isAfter(notAfter);
  }
}
