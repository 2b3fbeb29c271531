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
import java.util.List;
import org.junit.jupiter.api.Test;

class CaBundleMergeTest {
  private static final Instant NOW = Instant.parse("2026-06-01T00:00:00Z");
  private static final Duration GRACE = Duration.ofMinutes(10);

  private static X509Certificate ca(String name, Instant issuedAt, Duration validity) {
    return CertificateAuthority.generate(name, validity, Clock.fixed(issuedAt, ZoneOffset.UTC))
        .certificate();
  }

  private final X509Certificate current = ca("current", NOW, Duration.ofDays(30));
  private final X509Certificate previous =
      ca("previous", NOW.minus(Duration.ofDays(20)), Duration.ofDays(30));
  private final X509Certificate expired =
      ca("expired", NOW.minus(Duration.ofDays(40)), Duration.ofDays(30));
  private final X509Certificate justExpired =
      ca("just-expired", NOW.minus(Duration.ofDays(30)).minusSeconds(60), Duration.ofDays(30));

  @Test
  void addsTrustedCasKeepsValidOnesAlreadyThereAndPrunesExpiredOnes() {
    List<X509Certificate> merged =
        CaBundleMerge.merge(List.of(previous, expired), List.of(current), NOW, GRACE);
    assertEquals(List.of(current, previous), merged);
  }

  @Test
  void keepsACaThatExpiredWithinTheGraceForReplicasWithSlowClocks() {
    assertEquals(
        List.of(current, justExpired),
        CaBundleMerge.merge(List.of(justExpired), List.of(current), NOW, GRACE));
    assertEquals(
        List.of(current),
        CaBundleMerge.merge(List.of(justExpired), List.of(current), NOW, Duration.ZERO));
  }

  @Test
  void neverDuplicatesAndComparesWithoutOrder() {
    List<X509Certificate> merged =
        CaBundleMerge.merge(List.of(previous, current), List.of(current, previous), NOW, GRACE);
    assertEquals(List.of(current, previous), merged);
    assertTrue(CaBundleMerge.sameCas(List.of(previous, current), merged));
    assertFalse(CaBundleMerge.sameCas(List.of(current), merged));
  }

  @Test
  void anEmptyBundleBecomesTheTrustedCas() {
    assertEquals(
        List.of(current, previous),
        CaBundleMerge.merge(List.of(), List.of(current, previous), NOW, GRACE));
  }

  @Test
  void namesAddedSerials() {
    assertEquals(
        List.of(current.getSerialNumber().toString(16)),
        CaBundleMerge.serialsAdded(List.of(previous), List.of(current, previous)));
  }
}
