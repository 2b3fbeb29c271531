package io.migrategate.gate.tls;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.migrategate.certs.CertificateAuthority;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import org.junit.jupiter.api.Test;

class RenewalPolicyTest {
  private static final Instant ISSUED = Instant.parse("2026-01-01T00:00:00Z");
  private static final double TWO_THIRDS = 2.0 / 3.0;

  @Test
  void servingCertificatesRenewAtTwoThirdsOfTheTimeTheyWereMintedFor() {
    assertEquals(
        ISSUED.plus(Duration.ofDays(2)),
        RenewalPolicy.servingRenewAt(ISSUED, ISSUED.plus(Duration.ofDays(3)), TWO_THIRDS));
  }

  @Test
  void caRotationIgnoresTheBackdatedNotBefore() {
    X509Certificate ca =
        CertificateAuthority.generate(
                "ca", Duration.ofDays(30), Clock.fixed(ISSUED, ZoneOffset.UTC))
            .certificate();
    assertEquals(
        ISSUED.plus(Duration.ofDays(20)),
        RenewalPolicy.caRotateAt(ca, TWO_THIRDS, Duration.ofDays(30)));
  }

  @Test
  void theNextCaMadeWithTheCurrentOneSignsForTwoThirdsOfAValidityAfterItsWait() {
    Duration validity = Duration.ofDays(30);
    X509Certificate next =
        CertificateAuthority.generate(
                "next",
                RenewalPolicy.nextCaValidity(validity, TWO_THIRDS),
                Clock.fixed(ISSUED, ZoneOffset.UTC))
            .certificate();
    // It becomes the signer at day 20 (the current CA's rotation) and rotates at day 40.
    assertEquals(
        ISSUED.plus(Duration.ofDays(40)), RenewalPolicy.caRotateAt(next, TWO_THIRDS, validity));
    assertEquals(ISSUED.plus(Duration.ofDays(50)), next.getNotAfter().toInstant());
  }

  @Test
  void secondsScaleLifetimesWorkTooForTests() {
    X509Certificate ca =
        CertificateAuthority.generate(
                "ca", Duration.ofSeconds(30), Clock.fixed(ISSUED, ZoneOffset.UTC))
            .certificate();
    assertEquals(
        ISSUED.plusSeconds(20), RenewalPolicy.caRotateAt(ca, TWO_THIRDS, Duration.ofSeconds(30)));
  }

  @Test
  void aCaIsPrunableOnlyAfterExpiryPlusGrace() {
    X509Certificate ca =
        CertificateAuthority.generate("ca", Duration.ofDays(1), Clock.fixed(ISSUED, ZoneOffset.UTC))
            .certificate();
    Instant expiry = ISSUED.plus(Duration.ofDays(1));
    Duration grace = Duration.ofMinutes(10);
    assertFalse(RenewalPolicy.prunable(ca, expiry, grace));
    assertFalse(RenewalPolicy.prunable(ca, expiry.plus(grace).minusSeconds(1), grace));
    assertTrue(RenewalPolicy.prunable(ca, expiry.plus(grace), grace));
  }
}
