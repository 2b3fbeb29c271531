package io.migrategate.tls;

import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;

/**
 * What the CA Secret holds: the signing CA, and every CA clients must still trust (the signing CA
 * first, then earlier CAs whose serving certificates may still be in service).
 */
record CaContent(CertificateAuthority signer, List<X509Certificate> trusted) {

  CaContent {
    Objects.requireNonNull(signer, "signer");
    LinkedHashSet<X509Certificate> set = new LinkedHashSet<>();
    set.add(signer.certificate());
    set.addAll(trusted);
    trusted = List.copyOf(new ArrayList<>(set));
  }

  X509Certificate signerCertificate() {
    return signer.certificate();
  }

  String signerSerialHex() {
    return signer.certificate().getSerialNumber().toString(16);
  }
}
