package io.migrategate.certs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.security.cert.CertPathValidator;
import java.security.cert.CertPathValidatorException;
import java.security.cert.CertificateFactory;
import java.security.cert.PKIXParameters;
import java.security.cert.TrustAnchor;
import java.security.cert.X509Certificate;
import java.security.interfaces.ECPublicKey;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Date;
import java.util.List;
import java.util.Set;
import org.bouncycastle.asn1.ASN1OctetString;
import org.bouncycastle.asn1.x509.AuthorityKeyIdentifier;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.SubjectKeyIdentifier;
import org.junit.jupiter.api.Test;

class CertificateAuthorityTest {
  private static final String SERVER_AUTH = "1.3.6.1.5.5.7.3.1";
  private static final CertificateAuthority CA =
      CertificateAuthority.generate("migrate-gate-ca", Duration.ofDays(365));

  @Test
  void servingChainPassesJdkPkixValidation() throws Exception {
    IssuedCertificate leaf =
        CA.issueServing(
            ServingNames.forService("migrate-gate", "gate-system"),
            List.of("127.0.0.1", "::1"),
            Duration.ofDays(7));

    validate(leaf.certificate(), CA.certificate(), Instant.now());

    CertificateSummary summary = CertificateInspector.describe(leaf.certificate());
    assertEquals(
        List.of(
            "migrate-gate",
            "migrate-gate.gate-system",
            "migrate-gate.gate-system.svc",
            "migrate-gate.gate-system.svc.cluster.local"),
        summary.dnsNames());
    assertEquals(2, summary.ipAddresses().size());
    assertTrue(summary.ipAddresses().contains("127.0.0.1"));
  }

  @Test
  void chainDoesNotValidateAgainstAnotherCa() {
    IssuedCertificate leaf = CA.issueServing(List.of("svc"), List.of(), Duration.ofDays(1));
    CertificateAuthority other =
        CertificateAuthority.generate("migrate-gate-ca", Duration.ofDays(1));

    assertThrows(
        CertPathValidatorException.class,
        () -> validate(leaf.certificate(), other.certificate(), Instant.now()));
  }

  @Test
  void caCertificateIsAConstrainedSigningOnlyCa() throws Exception {
    X509Certificate ca = CA.certificate();

    assertEquals(0, ca.getBasicConstraints(), "CA:true with pathLen 0");
    assertTrue(ca.getCriticalExtensionOIDs().contains(Extension.basicConstraints.getId()));
    assertTrue(ca.getCriticalExtensionOIDs().contains(Extension.keyUsage.getId()));
    boolean[] usage = ca.getKeyUsage();
    assertTrue(usage[5], "keyCertSign");
    assertTrue(usage[6], "cRLSign");
    assertFalse(usage[0], "no digitalSignature: the CA does not serve TLS itself");
    assertEquals("CN=migrate-gate-ca", ca.getSubjectX500Principal().getName());
    assertEquals("SHA256withECDSA", ca.getSigAlgName());
    assertEquals(
        256, ((ECPublicKey) ca.getPublicKey()).getParams().getCurve().getField().getFieldSize());
    ca.verify(ca.getPublicKey());
  }

  @Test
  void servingCertificateIsALeafForServerAuth() throws Exception {
    IssuedCertificate leaf =
        CA.issueServing(List.of("svc.ns.svc"), List.of("10.0.0.1"), Duration.ofDays(7));
    X509Certificate cert = leaf.certificate();

    assertEquals(-1, cert.getBasicConstraints(), "not a CA");
    assertTrue(cert.getCriticalExtensionOIDs().contains(Extension.basicConstraints.getId()));
    boolean[] usage = cert.getKeyUsage();
    assertTrue(usage[0], "digitalSignature");
    assertFalse(usage[5], "no keyCertSign");
    assertEquals(List.of(SERVER_AUTH), cert.getExtendedKeyUsage());
    assertEquals("CN=svc.ns.svc", cert.getSubjectX500Principal().getName());
    assertEquals(CA.certificate().getSubjectX500Principal(), cert.getIssuerX500Principal());
    assertEquals("EC", cert.getPublicKey().getAlgorithm());
    assertEquals(
        256, ((ECPublicKey) cert.getPublicKey()).getParams().getCurve().getField().getFieldSize());

    byte[] caKeyId = subjectKeyId(CA.certificate());
    AuthorityKeyIdentifier aki =
        AuthorityKeyIdentifier.getInstance(
            ASN1OctetString.getInstance(
                    cert.getExtensionValue(Extension.authorityKeyIdentifier.getId()))
                .getOctets());
    assertArrayEquals(caKeyId, aki.getKeyIdentifierObject().getOctets());
    assertNotEquals(null, subjectKeyId(cert));
  }

  @Test
  void serialsArePositiveAndUnique() {
    var first = CA.issueServing(List.of("svc"), List.of(), Duration.ofDays(1)).certificate();
    var second = CA.issueServing(List.of("svc"), List.of(), Duration.ofDays(1)).certificate();

    assertTrue(first.getSerialNumber().signum() > 0);
    assertTrue(first.getSerialNumber().bitLength() <= 159 + 1);
    assertTrue(CA.certificate().getSerialNumber().signum() > 0);
    assertNotEquals(first.getSerialNumber(), second.getSerialNumber());
    assertNotEquals(first.getPublicKey(), second.getPublicKey(), "fresh key per certificate");
  }

  @Test
  void validityIsBackdatedAndCappedAtTheCaNotAfter() {
    Instant now = Instant.parse("2030-01-01T00:00:00Z");
    Clock clock = Clock.fixed(now, ZoneOffset.UTC);
    CertificateAuthority ca = CertificateAuthority.generate("short-ca", Duration.ofDays(30), clock);

    IssuedCertificate leaf =
        ca.issueServing(
            List.of("svc"),
            List.of(),
            Duration.ofDays(7),
            Clock.offset(clock, Duration.ofHours(2)));
    IssuedCertificate capped =
        ca.issueServing(List.of("svc"), List.of(), Duration.ofDays(365), clock);

    assertEquals(
        now.minus(CertificateAuthority.CLOCK_SKEW_BACKDATE),
        ca.certificate().getNotBefore().toInstant());
    assertEquals(now.plus(Duration.ofDays(30)), ca.notAfter());
    assertEquals(
        now.plus(Duration.ofHours(2)).minus(CertificateAuthority.CLOCK_SKEW_BACKDATE),
        leaf.notBefore());
    assertEquals(now.plus(Duration.ofHours(2)).plus(Duration.ofDays(7)), leaf.notAfter());
    assertEquals(ca.notAfter(), capped.notAfter(), "a leaf never outlives its CA");
  }

  @Test
  void expiredCaRefusesToIssue() {
    Clock longAgo = Clock.fixed(Instant.parse("2020-01-01T00:00:00Z"), ZoneOffset.UTC);
    CertificateAuthority expired =
        CertificateAuthority.generate("old-ca", Duration.ofDays(1), longAgo);

    IllegalStateException e =
        assertThrows(
            IllegalStateException.class,
            () -> expired.issueServing(List.of("svc"), List.of(), Duration.ofDays(1)));
    assertTrue(e.getMessage().contains("expired at 2020-01-02T00:00:00Z"), e.getMessage());
    assertTrue(e.getMessage().contains("generate a new CA"), e.getMessage());
  }

  @Test
  void invalidNamesAreRejectedWithTheOffendingValue() {
    Duration day = Duration.ofDays(1);
    assertMessage("'bad_name'", () -> CA.issueServing(List.of("bad_name"), List.of(), day));
    assertMessage(
        "'10.0.0.1' is an IP address", () -> CA.issueServing(List.of("10.0.0.1"), List.of(), day));
    assertMessage("'999.1.1.1'", () -> CA.issueServing(List.of(), List.of("999.1.1.1"), day));
    assertMessage(
        "at least one DNS name or IP address", () -> CA.issueServing(List.of(), List.of(), day));
    assertMessage(
        "must be positive", () -> CA.issueServing(List.of("svc"), List.of(), Duration.ZERO));
    assertMessage(
        "must be positive", () -> CertificateAuthority.generate("ca", Duration.ofDays(-1)));
  }

  @Test
  void wildcardAndIpv6NamesAreAccepted() throws Exception {
    IssuedCertificate leaf =
        CA.issueServing(List.of("*.svc.ns.svc"), List.of("fd00::1"), Duration.ofDays(1));
    CertificateSummary summary = CertificateInspector.describe(leaf.certificate());
    assertEquals(List.of("*.svc.ns.svc"), summary.dnsNames());
    assertEquals(1, summary.ipAddresses().size());
    validate(leaf.certificate(), CA.certificate(), Instant.now());
  }

  @Test
  void reloadedCaIssuesLeavesThatChainToTheStoredCertificate() throws Exception {
    CertificateAuthority reloaded =
        CertificateAuthority.fromPem(CA.certificatePem(), CA.privateKeyPem());

    IssuedCertificate leaf =
        reloaded.issueServing(List.of("svc.ns.svc"), List.of(), Duration.ofDays(1));

    assertEquals(CA.certificate(), reloaded.certificate());
    validate(leaf.certificate(), CA.certificate(), Instant.now());
  }

  @Test
  void reloadRefusesMismatchedOrUnsuitableMaterial() {
    CertificateAuthority other = CertificateAuthority.generate("other-ca", Duration.ofDays(1));
    IssuedCertificate leaf = CA.issueServing(List.of("svc"), List.of(), Duration.ofDays(1));

    assertPem(
        "does not belong to CA certificate 'CN=migrate-gate-ca'",
        () -> CertificateAuthority.fromPem(CA.certificatePem(), other.privateKeyPem()));
    assertPem(
        "is not a CA",
        () -> CertificateAuthority.fromPem(leaf.certificatePem(), leaf.privateKeyPem()));
    assertPem(
        "CA certificate: expected exactly 1 certificate, found 2",
        () -> CertificateAuthority.fromPem(leaf.chainPem(), CA.privateKeyPem()));
    assertPem(
        "CA private key: no private key block found",
        () -> CertificateAuthority.fromPem(CA.certificatePem(), CA.certificatePem()));
  }

  private static void assertPem(String expected, org.junit.jupiter.api.function.Executable call) {
    PemException e = assertThrows(PemException.class, call);
    assertTrue(e.getMessage().contains(expected), () -> "message: " + e.getMessage());
  }

  private static void assertMessage(
      String expected, org.junit.jupiter.api.function.Executable call) {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call);
    assertTrue(e.getMessage().contains(expected), () -> "message: " + e.getMessage());
  }

  static void validate(X509Certificate leaf, X509Certificate trusted, Instant at) throws Exception {
    CertificateFactory factory = CertificateFactory.getInstance("X.509");
    PKIXParameters parameters = new PKIXParameters(Set.of(new TrustAnchor(trusted, null)));
    parameters.setRevocationEnabled(false);
    parameters.setDate(Date.from(at));
    CertPathValidator.getInstance("PKIX")
        .validate(factory.generateCertPath(List.of(leaf)), parameters);
  }

  private static byte[] subjectKeyId(X509Certificate certificate) {
    byte[] value = certificate.getExtensionValue(Extension.subjectKeyIdentifier.getId());
    return SubjectKeyIdentifier.getInstance(ASN1OctetString.getInstance(value).getOctets())
        .getKeyIdentifier();
  }
}
