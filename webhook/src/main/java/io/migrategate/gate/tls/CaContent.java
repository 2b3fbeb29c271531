package io.migrategate.gate.tls;

import io.migrategate.certs.CertificateAuthority;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;

/**
 * What the CA Secret holds: the signing CA; the next CA, made ahead of its rotation and trusted
 * from the start, so that clients given the trusted set today (the API server's caBundle, the
 * waiters the gate injects) still trust the gate after the next rotation; and every CA clients must
 * trust (the signing CA first, then the next one, then earlier CAs whose serving certificates may
 * still be in service).
 *
 * @param next the CA that signs after the next rotation, key included; null in a Secret written
 *     before there was one (the gate adds it)
 */
record CaContent(
    CertificateAuthority signer, List<X509Certificate> trusted, CertificateAuthority next) {

  CaContent {
    Objects.requireNonNull(signer, "signer");
    LinkedHashSet<X509Certificate> set = new LinkedHashSet<>();
    set.add(signer.certificate());
    if (next != null) {
      set.add(next.certificate());
    }
    set.addAll(trusted);
    trusted = List.copyOf(new ArrayList<>(set));
  }

  /** A CA without a next one (a CA put in the Secret by hand, or by an older gate). */
  CaContent(CertificateAuthority signer, List<X509Certificate> trusted) {
    this(signer, trusted, null);
  }

  X509Certificate signerCertificate() {
    return signer.certificate();
  }

  String signerSerialHex() {
    return signer.certificate().getSerialNumber().toString(16);
  }
}
