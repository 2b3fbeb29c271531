package io.migrategate.certs;

import java.io.IOException;
import java.io.StringReader;
import java.io.StringWriter;
import java.security.PrivateKey;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.openssl.PEMEncryptedKeyPair;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.openssl.jcajce.JcaPKCS8Generator;
import org.bouncycastle.pkcs.PKCS8EncryptedPrivateKeyInfo;

/**
 * PEM reading and writing of X.509 certificates and private keys. BouncyCastle does all parsing and
 * encoding; the JDK's default providers do the key conversion, so no security provider is
 * registered (a shaded, unsigned BouncyCastle provider would be rejected by some JDKs).
 */
public final class Pem {
  private static final JcaX509CertificateConverter CERTIFICATES = new JcaX509CertificateConverter();
  private static final JcaPEMKeyConverter KEYS = new JcaPEMKeyConverter();

  private Pem() {}

  /**
   * All {@code CERTIFICATE} blocks, in file order. Other blocks (keys, EC parameters) are ignored
   * so that combined "certificate + key" files work.
   *
   * @throws PemException when the text is malformed or holds no certificate
   */
  public static List<X509Certificate> readCertificates(String pem) {
    List<X509Certificate> certificates = new ArrayList<>();
    for (Object block : blocks(pem)) {
      if (block instanceof X509CertificateHolder holder) {
        try {
          certificates.add(CERTIFICATES.getCertificate(holder));
        } catch (CertificateException e) {
          throw new PemException("CERTIFICATE block is not a valid X.509 certificate: " + e, e);
        }
      }
    }
    if (certificates.isEmpty()) {
      throw new PemException(
          "no CERTIFICATE block found; expected PEM text starting with"
              + " '-----BEGIN CERTIFICATE-----'");
    }
    return List.copyOf(certificates);
  }

  /**
   * The single certificate of a PEM text.
   *
   * @throws PemException when there is not exactly one certificate
   */
  public static X509Certificate readCertificate(String pem) {
    List<X509Certificate> certificates = readCertificates(pem);
    if (certificates.size() != 1) {
      throw new PemException(
          "expected exactly 1 certificate, found "
              + certificates.size()
              + "; split the bundle and pass one certificate");
    }
    return certificates.get(0);
  }

  /**
   * The single private key of a PEM text: PKCS#8 ({@code PRIVATE KEY}) or the OpenSSL traditional
   * formats ({@code EC PRIVATE KEY} as written by {@code openssl ecparam -genkey}, {@code RSA
   * PRIVATE KEY}). Certificates and {@code EC PARAMETERS} blocks next to the key are ignored.
   *
   * @throws PemException when there is no key, more than one, or the key is encrypted
   */
  public static PrivateKey readPrivateKey(String pem) {
    List<PrivateKey> keys = new ArrayList<>();
    for (Object block : blocks(pem)) {
      if (block instanceof PrivateKeyInfo info) {
        keys.add(toPrivateKey(info));
      } else if (block instanceof PEMKeyPair pair) {
        // SEC1/PKCS#1 keys may omit the public part, so convert only the private half.
        keys.add(toPrivateKey(pair.getPrivateKeyInfo()));
      } else if (block instanceof PKCS8EncryptedPrivateKeyInfo
          || block instanceof PEMEncryptedKeyPair) {
        throw new PemException(
            "the private key is encrypted, which is not supported; decrypt it first, e.g."
                + " 'openssl pkcs8 -topk8 -nocrypt -in KEY -out KEY.unencrypted'");
      }
    }
    if (keys.size() != 1) {
      throw new PemException(
          keys.isEmpty()
              ? "no private key block found; expected '-----BEGIN PRIVATE KEY-----' (PKCS#8)"
                  + " or '-----BEGIN EC PRIVATE KEY-----'"
              : "expected exactly 1 private key, found " + keys.size());
    }
    return keys.get(0);
  }

  /** One {@code CERTIFICATE} block. */
  public static String writeCertificate(X509Certificate certificate) {
    return writeCertificates(List.of(certificate));
  }

  /** Consecutive {@code CERTIFICATE} blocks, e.g. a chain or a CA bundle. */
  public static String writeCertificates(List<X509Certificate> certificates) {
    return write(certificates.toArray());
  }

  /**
   * An unencrypted PKCS#8 {@code PRIVATE KEY} block, the format Vert.x, Go and kubectl all read.
   */
  public static String writePrivateKey(PrivateKey privateKey) {
    try {
      return write(new JcaPKCS8Generator(privateKey, null));
    } catch (org.bouncycastle.util.io.pem.PemGenerationException e) {
      throw new IllegalArgumentException(
          "cannot encode " + privateKey.getAlgorithm() + " private key as PKCS#8: " + e, e);
    }
  }

  private static String write(Object... objects) {
    StringWriter text = new StringWriter();
    try (JcaPEMWriter writer = new JcaPEMWriter(text)) {
      for (Object object : objects) {
        writer.writeObject(object);
      }
    } catch (IOException e) {
      // A StringWriter never fails; an IOException here means an unencodable object.
      throw new IllegalArgumentException("cannot encode as PEM: " + e, e);
    }
    return text.toString();
  }

  private static List<Object> blocks(String pem) {
    if (pem == null || pem.isBlank()) {
      throw new PemException("PEM text is empty");
    }
    List<Object> blocks = new ArrayList<>();
    try (PEMParser parser = new PEMParser(new StringReader(pem))) {
      for (Object block = parser.readObject(); block != null; block = parser.readObject()) {
        blocks.add(block);
      }
    } catch (IOException | RuntimeException e) {
      throw new PemException("malformed PEM text: " + e.getMessage(), e);
    }
    return blocks;
  }

  private static PrivateKey toPrivateKey(PrivateKeyInfo info) {
    try {
      return KEYS.getPrivateKey(info);
    } catch (IOException | RuntimeException e) {
      throw new PemException(
          "unsupported or corrupt private key (algorithm "
              + info.getPrivateKeyAlgorithm().getAlgorithm()
              + "): "
              + e.getMessage(),
          e);
    }
  }
}
