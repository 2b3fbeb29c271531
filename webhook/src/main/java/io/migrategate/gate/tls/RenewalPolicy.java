package io.migrategate.gate.tls;

import io.migrategate.certs.CertificateAuthority;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;

/** When certificates are replaced and when a CA counts as gone. The one place for these rules. */
final class RenewalPolicy {
  private RenewalPolicy() {}

  /**
   * When a serving certificate minted at {@code issuedAt} is replaced: after {@code fraction} of
   * the time it was minted for. Measured from the minting moment, not from notBefore, because
   * notBefore is backdated for clock skew.
   */
  static Instant servingRenewAt(Instant issuedAt, Instant notAfter, double fraction) {
    return issuedAt.plus(scaled(Duration.between(issuedAt, notAfter), fraction));
  }

  /**
   * When a CA is rotated: after {@code fraction} of its lifetime, or when no more than {@code 1 -
   * fraction} of the configured CA validity is left, whichever is later. For a CA of the configured
   * validity both are the same moment. The next CA is made when the current one is, valid for
   * {@link #nextCaValidity} (longer by the time it waits), so it too serves {@code fraction} of a
   * validity as the signer before its own rotation. The certs module backdates notBefore by {@link
   * CertificateAuthority#CLOCK_SKEW_BACKDATE}, so the lifetime is counted from notBefore plus that
   * backdate (for a CA made elsewhere without backdating, rotation merely comes that much later).
   */
  static Instant caRotateAt(X509Certificate ca, double fraction, Duration caValidity) {
    Instant notBefore = ca.getNotBefore().toInstant();
    Instant notAfter = ca.getNotAfter().toInstant();
    Instant issuedAt = notBefore.plus(CertificateAuthority.CLOCK_SKEW_BACKDATE);
    if (!issuedAt.isBefore(notAfter)) {
      issuedAt = notBefore;
    }
    Instant byLifetime = issuedAt.plus(scaled(Duration.between(issuedAt, notAfter), fraction));
    Instant byRemainder = notAfter.minus(scaled(caValidity, 1 - fraction));
    return byRemainder.isAfter(byLifetime) ? byRemainder : byLifetime;
  }

  /** The validity of a next CA made now: it waits {@code fraction} of a validity to sign. */
  static Duration nextCaValidity(Duration caValidity, double fraction) {
    return caValidity.plus(scaled(caValidity, fraction));
  }

  /** Whether a CA may leave the caBundle: expired, and the grace for clock skew is over too. */
  static boolean prunable(X509Certificate ca, Instant now, Duration grace) {
    return !now.isBefore(ca.getNotAfter().toInstant().plus(grace));
  }

  private static Duration scaled(Duration duration, double fraction) {
    return Duration.ofMillis(Math.round(duration.toMillis() * fraction));
  }
}
