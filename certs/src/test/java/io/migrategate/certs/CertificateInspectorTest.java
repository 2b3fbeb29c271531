package io.migrategate.certs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import org.junit.jupiter.api.Test;

class CertificateInspectorTest {
  private static final Instant ISSUED = Instant.parse("2031-03-01T12:00:00Z");
  private static final Clock CLOCK = Clock.fixed(ISSUED, ZoneOffset.UTC);
  private static final CertificateAuthority CA =
      CertificateAuthority.generate("migrate-gate-ca", Duration.ofDays(90), CLOCK);

  @Test
  void notAfterAndRemainingValidityOfAPem() {
    IssuedCertificate leaf = CA.issueServing(List.of("svc"), List.of(), Duration.ofDays(7), CLOCK);
    String pem = leaf.certificatePem();

    assertEquals(Instant.parse("2031-03-08T12:00:00Z"), CertificateInspector.notAfter(pem));
    assertEquals(
        Duration.ofDays(5),
        CertificateInspector.remainingValidity(pem, ISSUED.plus(Duration.ofDays(2))));
    assertTrue(
        CertificateInspector.remainingValidity(pem, ISSUED.plus(Duration.ofDays(8))).isNegative(),
        "negative once expired");
    assertEquals(
        Instant.parse("2031-03-08T12:00:00Z"),
        CertificateInspector.notAfter(leaf.chainPem()),
        "a chain file reports its leaf");
  }

  @Test
  void describeReportsNamesValidityAndRole() {
    IssuedCertificate leaf =
        CA.issueServing(
            List.of("svc", "svc.ns.svc"), List.of("10.0.0.7"), Duration.ofDays(7), CLOCK);

    List<CertificateSummary> chain = CertificateInspector.describeAll(leaf.chainPem());

    CertificateSummary serving = chain.get(0);
    assertEquals("CN=svc", serving.subject());
    assertEquals("CN=migrate-gate-ca", serving.issuer());
    assertEquals(List.of("svc", "svc.ns.svc"), serving.dnsNames());
    assertEquals(List.of("10.0.0.7"), serving.ipAddresses());
    assertEquals(ISSUED.minus(CertificateAuthority.CLOCK_SKEW_BACKDATE), serving.notBefore());
    assertFalse(serving.certificateAuthority());
    assertEquals(leaf.certificate().getSerialNumber().toString(16), serving.serialNumber());
    assertTrue(serving.isValidAt(ISSUED));
    assertFalse(serving.isValidAt(ISSUED.plus(Duration.ofDays(8))));

    CertificateSummary ca = chain.get(1);
    assertTrue(ca.certificateAuthority());
    assertEquals(List.of(), ca.dnsNames());
    assertEquals(Duration.ofDays(90), ca.remainingValidity(ISSUED));
  }
}
