package io.migrategate.gate;

import io.migrategate.certs.CertificateAuthority;
import io.migrategate.certs.IssuedCertificate;
import io.migrategate.certs.Pem;
import java.math.BigInteger;
import java.security.KeyStore;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/** A throwaway CA for tests: serving certificates for localhost and a client trusting them. */
final class TestPki {
  /** A PEM pair; {@code serial} is what a TLS client sees as the peer certificate's serial. */
  record Issued(String certificatePem, String privateKeyPem, BigInteger serial) {}

  private final CertificateAuthority authority;

  private TestPki(CertificateAuthority authority) {
    this.authority = authority;
  }

  static TestPki create() {
    return new TestPki(CertificateAuthority.generate("migrate-gate-test-ca", Duration.ofDays(2)));
  }

  /** A serving certificate for localhost and 127.0.0.1, valid from now for {@code validity}. */
  Issued issue(Duration validity) {
    return issued(authority.issueServing(List.of("localhost"), List.of("127.0.0.1"), validity));
  }

  /**
   * As {@link #issue(Duration)}, issued at {@code at} (e.g. in the past, to get an expired one).
   */
  Issued issueAt(Instant at, Duration validity) {
    return issued(
        authority.issueServing(
            List.of("localhost"), List.of("127.0.0.1"), validity, Clock.fixed(at, ZoneOffset.UTC)));
  }

  private static Issued issued(IssuedCertificate certificate) {
    return new Issued(
        certificate.certificatePem(),
        certificate.privateKeyPem(),
        certificate.certificate().getSerialNumber());
  }

  /** The CA certificate, what a webhook configuration's caBundle holds. */
  String caCertificatePem() {
    return authority.certificatePem();
  }

  /** A client context trusting only this CA. */
  SSLContext clientContext() {
    try {
      KeyStore trust = KeyStore.getInstance(KeyStore.getDefaultType());
      trust.load(null, null);
      trust.setCertificateEntry("ca", authority.certificate());
      TrustManagerFactory factory =
          TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      factory.init(trust);
      SSLContext context = SSLContext.getInstance("TLS");
      context.init(null, factory.getTrustManagers(), new SecureRandom());
      return context;
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  static Instant notAfterOf(String certificatePem) {
    return Pem.readCertificate(certificatePem).getNotAfter().toInstant();
  }

  static BigInteger serialOf(String certificatePem) {
    return Pem.readCertificate(certificatePem).getSerialNumber();
  }
}
