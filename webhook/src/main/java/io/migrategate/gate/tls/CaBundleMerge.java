package io.migrategate.gate.tls;

import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * The caBundle a webhook entry should carry: every CA the CA Secret says clients must trust, plus
 * every CA the entry already carries, minus CAs that are prunable (expired past the grace). Merging
 * rather than replacing means a replica never removes a CA that another replica may still serve
 * from (a CA lost from the Secret, a concurrent rotation); a CA leaves the bundle only when no
 * certificate signed by it can still be valid.
 */
final class CaBundleMerge {
  private CaBundleMerge() {}

  static List<X509Certificate> merge(
      List<X509Certificate> present, List<X509Certificate> trusted, Instant now, Duration grace) {
    Set<X509Certificate> merged = new LinkedHashSet<>();
    for (X509Certificate ca : trusted) {
      if (!RenewalPolicy.prunable(ca, now, grace)) {
        merged.add(ca);
      }
    }
    for (X509Certificate ca : present) {
      if (!RenewalPolicy.prunable(ca, now, grace)) {
        merged.add(ca);
      }
    }
    return new ArrayList<>(merged);
  }

  /** Same CAs, order aside: reordering alone is no reason to patch. */
  static boolean sameCas(List<X509Certificate> a, List<X509Certificate> b) {
    return new LinkedHashSet<>(a).equals(new LinkedHashSet<>(b));
  }

  /** CAs of {@code next} missing from {@code previous}, as serials for logs. */
  static List<String> serialsAdded(List<X509Certificate> previous, List<X509Certificate> next) {
    Set<X509Certificate> before = new LinkedHashSet<>(previous);
    return next.stream()
        .filter(ca -> !before.contains(ca))
        .map(ca -> ca.getSerialNumber().toString(16))
        .toList();
  }
}
