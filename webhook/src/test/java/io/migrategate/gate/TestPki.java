package io.migrategate.gate;

import java.io.ByteArrayInputStream;
import java.math.BigInteger;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.KeyStore;
import java.security.SecureRandom;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.Date;
import java.util.concurrent.atomic.AtomicLong;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/** A throwaway CA for tests: serving certificates for localhost and a client trusting them. */
final class TestPki {
  /** A PEM pair; {@code serial} is what a TLS client sees as the peer certificate's serial. */
  record Issued(String certificatePem, String privateKeyPem, BigInteger serial) {}

  private static final AtomicLong SERIALS = new AtomicLong(System.currentTimeMillis());
  private final KeyPair caKey;
  private final X509Certificate caCertificate;

  private TestPki(KeyPair caKey, X509Certificate caCertificate) {
    this.caKey = caKey;
    this.caCertificate = caCertificate;
  }

  static TestPki create() {
    try {
      KeyPair key = ecKey();
      X500Name name = new X500Name("CN=migrate-gate-test-ca");
      Instant now = Instant.now();
      JcaX509v3CertificateBuilder builder =
          new JcaX509v3CertificateBuilder(
              name,
              BigInteger.valueOf(SERIALS.incrementAndGet()),
              Date.from(now.minus(Duration.ofMinutes(5))),
              Date.from(now.plus(Duration.ofDays(2))),
              name,
              key.getPublic());
      builder.addExtension(Extension.basicConstraints, true, new BasicConstraints(true));
      builder.addExtension(
          Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
      X509Certificate certificate =
          new JcaX509CertificateConverter()
              .getCertificate(
                  builder.build(
                      new JcaContentSignerBuilder("SHA256withECDSA").build(key.getPrivate())));
      return new TestPki(key, certificate);
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  /** A serving certificate for localhost and 127.0.0.1, valid from now for {@code validity}. */
  Issued issue(Duration validity) {
    return issue(Instant.now().minus(Duration.ofMinutes(1)), validity);
  }

  Issued issue(Instant notBefore, Duration validity) {
    try {
      KeyPair key = ecKey();
      BigInteger serial = BigInteger.valueOf(SERIALS.incrementAndGet());
      JcaX509v3CertificateBuilder builder =
          new JcaX509v3CertificateBuilder(
              caCertificate,
              serial,
              Date.from(notBefore),
              Date.from(notBefore.plus(validity)),
              new X500Name("CN=migrate-gate.test"),
              key.getPublic());
      builder.addExtension(
          Extension.subjectAlternativeName,
          false,
          new GeneralNames(
              new GeneralName[] {
                new GeneralName(GeneralName.dNSName, "localhost"),
                new GeneralName(
                    GeneralName.iPAddress,
                    new org.bouncycastle.asn1.DEROctetString(
                        InetAddress.getByName("127.0.0.1").getAddress()))
              }));
      X509Certificate certificate =
          new JcaX509CertificateConverter()
              .getCertificate(
                  builder.build(
                      new JcaContentSignerBuilder("SHA256withECDSA").build(caKey.getPrivate())));
      return new Issued(
          pem("CERTIFICATE", certificate.getEncoded()),
          pem("PRIVATE KEY", key.getPrivate().getEncoded()),
          serial);
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  /** A client context trusting only this CA, TLS 1.2 and 1.3. */
  SSLContext clientContext() {
    try {
      KeyStore trust = KeyStore.getInstance(KeyStore.getDefaultType());
      trust.load(null, null);
      trust.setCertificateEntry("ca", caCertificate);
      TrustManagerFactory factory =
          TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      factory.init(trust);
      SSLContext context = SSLContext.getInstance("TLS");
      context.init(null, factory.getTrustManagers(), new SecureRandom());
      return context;
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  static BigInteger serialOf(String certificatePem) throws Exception {
    X509Certificate certificate =
        (X509Certificate)
            CertificateFactory.getInstance("X.509")
                .generateCertificate(
                    new ByteArrayInputStream(certificatePem.getBytes(StandardCharsets.US_ASCII)));
    return certificate.getSerialNumber();
  }

  private static KeyPair ecKey() throws Exception {
    KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
    generator.initialize(new ECGenParameterSpec("secp256r1"));
    return generator.generateKeyPair();
  }

  private static String pem(String type, byte[] der) {
    return "-----BEGIN "
        + type
        + "-----\n"
        + Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(der)
        + "\n-----END "
        + type
        + "-----\n";
  }
}
