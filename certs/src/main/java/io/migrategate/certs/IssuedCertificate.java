package io.migrategate.certs;

import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.List;

/**
 * A serving certificate with its private key and the CA certificate that signed it.
 *
 * @param certificate the leaf certificate
 * @param privateKey the leaf's private key (never logged: {@link #toString()} leaves it out)
 * @param issuer the CA certificate that signed the leaf; what clients must trust
 */
public record IssuedCertificate(
    X509Certificate certificate, PrivateKey privateKey, X509Certificate issuer) {

  /** The leaf alone as PEM, what {@code tls.crt} holds. */
  public String certificatePem() {
    return Pem.writeCertificate(certificate);
  }

  /** Leaf followed by its CA, for servers that should send the whole chain. */
  public String chainPem() {
    return Pem.writeCertificates(List.of(certificate, issuer));
  }

  /** The leaf's private key as unencrypted PKCS#8 PEM, what {@code tls.key} holds. */
  public String privateKeyPem() {
    return Pem.writePrivateKey(privateKey);
  }

  /** The signing CA certificate as PEM, what {@code ca.crt} and a webhook's caBundle hold. */
  public String issuerPem() {
    return Pem.writeCertificate(issuer);
  }

  public Instant notAfter() {
    return certificate.getNotAfter().toInstant();
  }

  public Instant notBefore() {
    return certificate.getNotBefore().toInstant();
  }

  @Override
  public String toString() {
    return "IssuedCertificate[" + CertificateInspector.describe(certificate) + "]";
  }
}
