package io.migrategate.certs;

import java.math.BigInteger;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.security.interfaces.ECKey;
import java.security.spec.ECGenParameterSpec;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Date;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import org.bouncycastle.asn1.ASN1OctetString;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.X500NameBuilder;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x509.AuthorityKeyIdentifier;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.asn1.x509.SubjectKeyIdentifier;
import org.bouncycastle.cert.CertIOException;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * A certificate authority that issues TLS serving certificates: an ECDSA P-256 self-signed CA
 * certificate and its private key. Instances are immutable and thread-safe.
 *
 * <p>Validity windows start {@link #CLOCK_SKEW_BACKDATE} in the past so that a client whose clock
 * runs slightly behind the issuer's still accepts a freshly issued certificate.
 */
public final class CertificateAuthority {
  /**
   * How far notBefore is set before the issuing moment, so clients whose clock lags still accept a
   * fresh certificate. One hour, as client-go's self-signed certificates do.
   */
  public static final Duration CLOCK_SKEW_BACKDATE = Duration.ofHours(1);

  private static final String EC_CURVE = "secp256r1";
  private static final SecureRandom RANDOM = new SecureRandom();
  // Serials: 159 random bits + 1 is positive, non-zero and fits the 20-octet limit of RFC 5280.
  private static final int SERIAL_BITS = 159;

  private final X509Certificate certificate;
  private final PrivateKey privateKey;

  private CertificateAuthority(X509Certificate certificate, PrivateKey privateKey) {
    this.certificate = certificate;
    this.privateKey = privateKey;
  }

  /** A new self-signed CA valid from now (minus the backdate) for {@code validity}. */
  public static CertificateAuthority generate(String commonName, Duration validity) {
    return generate(commonName, validity, Clock.systemUTC());
  }

  /** As {@link #generate(String, Duration)} with an explicit clock, e.g. to mint expired CAs. */
  public static CertificateAuthority generate(String commonName, Duration validity, Clock clock) {
    requireCommonName(commonName);
    requirePositive("CA validity", validity);
    KeyPair keyPair = newKeyPair();
    Instant now = clock.instant().truncatedTo(ChronoUnit.SECONDS);
    X500Name subject = new X500NameBuilder(BCStyle.INSTANCE).addRDN(BCStyle.CN, commonName).build();
    JcaX509ExtensionUtils extensions = extensionUtils();
    try {
      X509v3CertificateBuilder builder =
          new JcaX509v3CertificateBuilder(
                  subject,
                  newSerial(),
                  Date.from(now.minus(CLOCK_SKEW_BACKDATE)),
                  Date.from(now.plus(validity)),
                  subject,
                  keyPair.getPublic())
              // pathLen 0: this CA signs serving certificates only, never other CAs.
              .addExtension(Extension.basicConstraints, true, new BasicConstraints(0))
              .addExtension(
                  Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign))
              .addExtension(
                  Extension.subjectKeyIdentifier,
                  false,
                  extensions.createSubjectKeyIdentifier(keyPair.getPublic()));
      return new CertificateAuthority(sign(builder, keyPair.getPrivate()), keyPair.getPrivate());
    } catch (CertIOException e) {
      throw new IllegalStateException("cannot encode CA certificate extensions", e);
    }
  }

  /**
   * Reloads a stored CA, e.g. from the {@code ca.crt} and {@code ca.key} entries of a Secret.
   *
   * @throws PemException when the PEM texts are unusable, the certificate is not a CA, or the key
   *     does not belong to the certificate
   */
  public static CertificateAuthority fromPem(String certificatePem, String privateKeyPem) {
    X509Certificate certificate;
    try {
      certificate = Pem.readCertificate(certificatePem);
    } catch (PemException e) {
      throw new PemException("CA certificate: " + e.getMessage(), e);
    }
    PrivateKey privateKey;
    try {
      privateKey = Pem.readPrivateKey(privateKeyPem);
    } catch (PemException e) {
      throw new PemException("CA private key: " + e.getMessage(), e);
    }
    String subject = certificate.getSubjectX500Principal().getName();
    if (certificate.getBasicConstraints() < 0) {
      throw new PemException(
          "certificate '"
              + subject
              + "' is not a CA (basicConstraints CA:false); pass a CA"
              + " certificate, not a serving certificate");
    }
    boolean[] keyUsage = certificate.getKeyUsage();
    if (keyUsage != null && !keyUsage[5]) {
      throw new PemException(
          "CA certificate '" + subject + "' lacks the keyCertSign key usage, so it cannot sign");
    }
    if (!belongTogether(privateKey, certificate.getPublicKey())) {
      throw new PemException(
          "the CA private key does not belong to CA certificate '"
              + subject
              + "'; pass the key file generated together with that certificate");
    }
    return new CertificateAuthority(certificate, privateKey);
  }

  /** A serving certificate valid for {@code validity}, capped at this CA's own notAfter. */
  public IssuedCertificate issueServing(
      List<String> dnsNames, List<String> ipAddresses, Duration validity) {
    return issueServing(dnsNames, ipAddresses, validity, Clock.systemUTC());
  }

  /**
   * A serving certificate (serverAuth) for the given DNS names and IP addresses, with a fresh ECDSA
   * P-256 key. The validity is capped at this CA's notAfter, because a leaf outliving its CA would
   * stop verifying at the CA's expiry anyway; check {@link IssuedCertificate#notAfter()}.
   *
   * @throws IllegalArgumentException naming the value when a name or address is invalid
   * @throws IllegalStateException when this CA is expired at the clock's instant
   */
  public IssuedCertificate issueServing(
      List<String> dnsNames, List<String> ipAddresses, Duration validity, Clock clock) {
    List<GeneralName> names = subjectAltNames(dnsNames, ipAddresses);
    requirePositive("serving certificate validity", validity);
    Instant now = clock.instant().truncatedTo(ChronoUnit.SECONDS);
    Instant caNotAfter = notAfter();
    if (!now.isBefore(caNotAfter)) {
      throw new IllegalStateException(
          "CA '"
              + certificate.getSubjectX500Principal().getName()
              + "' expired at "
              + caNotAfter
              + "; generate a new CA");
    }
    Instant caNotBefore = certificate.getNotBefore().toInstant();
    Instant notBefore = max(now.minus(CLOCK_SKEW_BACKDATE), caNotBefore);
    Instant notAfter = min(now.plus(validity), caNotAfter);

    KeyPair keyPair = newKeyPair();
    JcaX509ExtensionUtils extensions = extensionUtils();
    try {
      X509v3CertificateBuilder builder =
          new JcaX509v3CertificateBuilder(
                  certificate,
                  newSerial(),
                  Date.from(notBefore),
                  Date.from(notAfter),
                  leafSubject(dnsNames, ipAddresses),
                  keyPair.getPublic())
              .addExtension(Extension.basicConstraints, true, new BasicConstraints(false))
              .addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature))
              .addExtension(
                  Extension.extendedKeyUsage,
                  false,
                  new ExtendedKeyUsage(KeyPurposeId.id_kp_serverAuth))
              .addExtension(
                  Extension.subjectAlternativeName,
                  false,
                  new GeneralNames(names.toArray(GeneralName[]::new)))
              .addExtension(
                  Extension.subjectKeyIdentifier,
                  false,
                  extensions.createSubjectKeyIdentifier(keyPair.getPublic()))
              .addExtension(
                  Extension.authorityKeyIdentifier, false, authorityKeyIdentifier(extensions));
      return new IssuedCertificate(sign(builder, privateKey), keyPair.getPrivate(), certificate);
    } catch (CertIOException e) {
      throw new IllegalStateException("cannot encode serving certificate extensions", e);
    }
  }

  public X509Certificate certificate() {
    return certificate;
  }

  public PrivateKey privateKey() {
    return privateKey;
  }

  /** The CA certificate as PEM: {@code ca.crt}, and (base64-encoded) a webhook's caBundle. */
  public String certificatePem() {
    return Pem.writeCertificate(certificate);
  }

  /** The CA private key as unencrypted PKCS#8 PEM: {@code ca.key}. */
  public String privateKeyPem() {
    return Pem.writePrivateKey(privateKey);
  }

  public Instant notAfter() {
    return certificate.getNotAfter().toInstant();
  }

  @Override
  public String toString() {
    return "CertificateAuthority[" + CertificateInspector.describe(certificate) + "]";
  }

  private static List<GeneralName> subjectAltNames(
      List<String> dnsNames, List<String> ipAddresses) {
    Objects.requireNonNull(dnsNames, "dnsNames (use List.of() for none)");
    Objects.requireNonNull(ipAddresses, "ipAddresses (use List.of() for none)");
    List<GeneralName> names = new ArrayList<>();
    for (String dnsName : new LinkedHashSet<>(dnsNames)) {
      if (DnsNames.isIpAddress(dnsName)) {
        throw new IllegalArgumentException(
            "DNS name '" + dnsName + "' is an IP address; pass it in the IP addresses instead");
      }
      if (!DnsNames.isValid(dnsName)) {
        throw new IllegalArgumentException(
            "DNS name '"
                + dnsName
                + "' is not a valid host name: use labels of letters, digits and '-'"
                + " separated by dots, e.g. svc.ns.svc");
      }
      names.add(new GeneralName(GeneralName.dNSName, dnsName));
    }
    for (String ipAddress : new LinkedHashSet<>(ipAddresses)) {
      if (!DnsNames.isIpAddress(ipAddress)) {
        throw new IllegalArgumentException(
            "IP address '" + ipAddress + "' is not a valid IPv4 or IPv6 address, e.g. 10.0.0.1");
      }
      names.add(new GeneralName(GeneralName.iPAddress, ipAddress));
    }
    if (names.isEmpty()) {
      throw new IllegalArgumentException(
          "a serving certificate needs at least one DNS name or IP address;"
              + " use ServingNames.forService(service, namespace) for a Service");
    }
    return names;
  }

  // Clients match on subjectAltName only; the CN is for humans reading the certificate, and must
  // fit the 64-character limit of the CommonName attribute.
  private static X500Name leafSubject(List<String> dnsNames, List<String> ipAddresses) {
    String commonName =
        dnsNames.stream()
            .filter(name -> name.length() <= 64)
            .findFirst()
            .orElse(ipAddresses.isEmpty() ? "serving" : ipAddresses.get(0));
    return new X500NameBuilder(BCStyle.INSTANCE).addRDN(BCStyle.CN, commonName).build();
  }

  // Key identifier only (no issuer name + serial), so leaves keep chaining to a CA certificate
  // that is re-issued with the same key. Prefer the CA's own SKI: an imported CA may not use the
  // SHA-1 method.
  private AuthorityKeyIdentifier authorityKeyIdentifier(JcaX509ExtensionUtils extensions) {
    byte[] encoded = certificate.getExtensionValue(Extension.subjectKeyIdentifier.getId());
    if (encoded == null) {
      return extensions.createAuthorityKeyIdentifier(certificate.getPublicKey());
    }
    byte[] keyIdentifier =
        SubjectKeyIdentifier.getInstance(ASN1OctetString.getInstance(encoded).getOctets())
            .getKeyIdentifier();
    return new AuthorityKeyIdentifier(keyIdentifier);
  }

  private static X509Certificate sign(X509v3CertificateBuilder builder, PrivateKey signingKey) {
    try {
      return new JcaX509CertificateConverter()
          .getCertificate(
              builder.build(
                  new JcaContentSignerBuilder(signatureAlgorithm(signingKey)).build(signingKey)));
    } catch (OperatorCreationException | CertificateException e) {
      throw new IllegalStateException("cannot sign certificate: " + e.getMessage(), e);
    }
  }

  private static String signatureAlgorithm(PrivateKey key) {
    return switch (key.getAlgorithm()) {
      case "EC" ->
          ((ECKey) key).getParams().getCurve().getField().getFieldSize() > 256
              ? "SHA384withECDSA"
              : "SHA256withECDSA";
      case "RSA" -> "SHA256withRSA";
      default ->
          throw new PemException(
              "CA keys of algorithm "
                  + key.getAlgorithm()
                  + " are not supported; use an EC (P-256) or RSA CA key");
    };
  }

  private static boolean belongTogether(PrivateKey privateKey, PublicKey publicKey) {
    byte[] challenge = new byte[32];
    RANDOM.nextBytes(challenge);
    try {
      String algorithm = signatureAlgorithm(privateKey);
      Signature signer = Signature.getInstance(algorithm);
      signer.initSign(privateKey);
      signer.update(challenge);
      byte[] signature = signer.sign();
      Signature verifier = Signature.getInstance(algorithm);
      verifier.initVerify(publicKey);
      verifier.update(challenge);
      return verifier.verify(signature);
    } catch (GeneralSecurityException e) {
      return false;
    }
  }

  private static KeyPair newKeyPair() {
    try {
      KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
      generator.initialize(new ECGenParameterSpec(EC_CURVE), RANDOM);
      return generator.generateKeyPair();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("this JDK cannot generate " + EC_CURVE + " keys", e);
    }
  }

  private static BigInteger newSerial() {
    return new BigInteger(SERIAL_BITS, RANDOM).add(BigInteger.ONE);
  }

  private static JcaX509ExtensionUtils extensionUtils() {
    try {
      return new JcaX509ExtensionUtils();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("this JDK has no SHA-1 digest for key identifiers", e);
    }
  }

  private static void requireCommonName(String commonName) {
    if (commonName == null || commonName.isBlank() || commonName.length() > 64) {
      throw new IllegalArgumentException(
          "CA common name '" + commonName + "' must be 1 to 64 characters, e.g. migrate-gate-ca");
    }
  }

  private static void requirePositive(String what, Duration validity) {
    if (validity == null || validity.isNegative() || validity.isZero()) {
      throw new IllegalArgumentException(what + " must be positive, got " + validity);
    }
  }

  private static Instant max(Instant a, Instant b) {
    return a.isAfter(b) ? a : b;
  }

  private static Instant min(Instant a, Instant b) {
    return a.isBefore(b) ? a : b;
  }
}
