package io.migrategate.gate.tls;

import io.migrategate.certs.IssuedCertificate;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.Objects;

/**
 * A serving certificate minted in memory by this replica. Its private key never leaves the process:
 * it is not written to the Kubernetes API, to disk, or to logs ({@link #toString()} omits it).
 *
 * @param issued the certificate, its key and the CA that signed it
 * @param issuedAt when this replica minted it
 * @param renewAt when this replica replaces it (a fraction of its lifetime after {@code issuedAt})
 */
public record ServingLeaf(IssuedCertificate issued, Instant issuedAt, Instant renewAt) {

  public ServingLeaf {
    Objects.requireNonNull(issued, "issued");
    Objects.requireNonNull(issuedAt, "issuedAt");
    Objects.requireNonNull(renewAt, "renewAt");
  }

  /** The certificate as PEM, for {@code PemKeyCertOptions.setCertValue}. */
  public String certificatePem() {
    return issued.certificatePem();
  }

  /** The private key as PKCS#8 PEM, for {@code PemKeyCertOptions.setKeyValue}. */
  public String privateKeyPem() {
    return issued.privateKeyPem();
  }

  public Instant notBefore() {
    return issued.notBefore();
  }

  public Instant notAfter() {
    return issued.notAfter();
  }

  /** The signing CA: clients (the API server) must find it in the caBundle. */
  public X509Certificate issuer() {
    return issued.issuer();
  }

  public String serialHex() {
    return issued.certificate().getSerialNumber().toString(16);
  }

  public String issuerSerialHex() {
    return issued.issuer().getSerialNumber().toString(16);
  }

  public boolean validAt(Instant now) {
    return !now.isBefore(notBefore()) && now.isBefore(notAfter());
  }

  @Override
  public String toString() {
    return "ServingLeaf[serial="
        + serialHex()
        + ", issuer_serial="
        + issuerSerialHex()
        + ", not_after="
        + notAfter()
        + ", renew_at="
        + renewAt
        + "]";
  }
}
