package io.migrategate.wait;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.Arrays;
import java.util.Base64;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.net.ssl.KeyManager;
import javax.net.ssl.KeyManagerFactory;

/**
 * A kubeconfig's client certificate and key as key managers. Keys come as PKCS#8 ({@code PRIVATE
 * KEY}), PKCS#1 ({@code RSA PRIVATE KEY}) or SEC1 ({@code EC PRIVATE KEY}, what {@code openssl
 * ecparam -genkey} and kubeadm write); the JDK reads only PKCS#8, so the other two are wrapped into
 * it here, which takes a few DER headers, not a crypto library on the waiter's start-up path.
 */
final class ClientKey {
  private static final Pattern PEM =
      Pattern.compile("-----BEGIN ([A-Z ]+)-----([^-]+)-----END \\1-----");

  /** AlgorithmIdentifier of rsaEncryption (1.2.840.113549.1.1.1) with NULL parameters. */
  private static final byte[] RSA_ALGORITHM = {
    0x30,
    0x0d,
    0x06,
    0x09,
    0x2a,
    (byte) 0x86,
    0x48,
    (byte) 0x86,
    (byte) 0xf7,
    0x0d,
    0x01,
    0x01,
    0x01,
    0x05,
    0x00
  };

  /** The OID of id-ecPublicKey (1.2.840.10045.2.1), as a DER TLV. */
  private static final byte[] EC_PUBLIC_KEY_OID = {
    0x06, 0x07, 0x2a, (byte) 0x86, 0x48, (byte) 0xce, 0x3d, 0x02, 0x01
  };

  private static final byte[] VERSION_0 = {0x02, 0x01, 0x00};

  private ClientKey() {}

  static KeyManager[] keyManagers(byte[] certificatePem, byte[] keyPem)
      throws GeneralSecurityException {
    Certificate[] chain =
        CertificateFactory.getInstance("X.509")
            .generateCertificates(new ByteArrayInputStream(certificatePem))
            .toArray(new Certificate[0]);
    if (chain.length == 0) {
      throw new GeneralSecurityException("no certificate in the client certificate data");
    }
    char[] password = "migrate-gate".toCharArray();
    KeyStore store = KeyStore.getInstance("PKCS12");
    try {
      store.load(null, null);
    } catch (java.io.IOException e) {
      throw new GeneralSecurityException(e);
    }
    store.setKeyEntry("client", privateKey(keyPem), password, chain);
    KeyManagerFactory factory =
        KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
    factory.init(store, password);
    return factory.getKeyManagers();
  }

  /** The private key of a PEM block in any of the three encodings. */
  static PrivateKey privateKey(byte[] pem) throws GeneralSecurityException {
    Matcher block = PEM.matcher(new String(pem, StandardCharsets.US_ASCII));
    if (!block.find()) {
      throw new GeneralSecurityException("the client key is not a PEM block");
    }
    byte[] der;
    try {
      der = Base64.getMimeDecoder().decode(block.group(2));
    } catch (IllegalArgumentException e) {
      throw new GeneralSecurityException("the client key's PEM block is not base64", e);
    }
    return switch (block.group(1)) {
      case "PRIVATE KEY" -> pkcs8(der);
      case "RSA PRIVATE KEY" ->
          KeyFactory.getInstance("RSA")
              .generatePrivate(new PKCS8EncodedKeySpec(privateKeyInfo(RSA_ALGORITHM, der)));
      case "EC PRIVATE KEY" ->
          KeyFactory.getInstance("EC")
              .generatePrivate(
                  new PKCS8EncodedKeySpec(
                      privateKeyInfo(sequence(EC_PUBLIC_KEY_OID, sec1Curve(der)), der)));
      default ->
          throw new GeneralSecurityException(
              "unsupported client key type \""
                  + block.group(1)
                  + "\": use a PRIVATE KEY, RSA PRIVATE KEY or EC PRIVATE KEY");
    };
  }

  private static PrivateKey pkcs8(byte[] der) throws GeneralSecurityException {
    GeneralSecurityException first = null;
    for (String algorithm : new String[] {"RSA", "EC"}) {
      try {
        return KeyFactory.getInstance(algorithm).generatePrivate(new PKCS8EncodedKeySpec(der));
      } catch (GeneralSecurityException e) {
        first = first == null ? e : first;
      }
    }
    throw new GeneralSecurityException("the client key is neither an RSA nor an EC key", first);
  }

  /**
   * The named curve of a SEC1 ECPrivateKey ({@code SEQUENCE {version, privateKey, [0] parameters,
   * [1] publicKey}}): the OID TLV inside {@code [0]}.
   */
  private static byte[] sec1Curve(byte[] der) throws GeneralSecurityException {
    Der outer = new Der(der, 0);
    if (outer.tag != 0x30) {
      throw new GeneralSecurityException("the EC PRIVATE KEY is not a DER sequence");
    }
    int at = outer.contentStart;
    while (at < outer.end()) {
      Der field = new Der(der, at);
      if (field.tag == (byte) 0xa0) {
        return Arrays.copyOfRange(der, field.contentStart, field.end());
      }
      at = field.end();
    }
    throw new GeneralSecurityException(
        "the EC PRIVATE KEY names no curve; write it with the curve's parameters (openssl ec"
            + " -param_enc named_curve)");
  }

  /** {@code PrivateKeyInfo ::= SEQUENCE {version 0, algorithm, privateKey OCTET STRING}}. */
  private static byte[] privateKeyInfo(byte[] algorithm, byte[] key) {
    return sequence(VERSION_0, algorithm, tlv(0x04, key));
  }

  private static byte[] sequence(byte[]... parts) {
    ByteArrayOutputStream content = new ByteArrayOutputStream();
    for (byte[] part : parts) {
      content.writeBytes(part);
    }
    return tlv(0x30, content.toByteArray());
  }

  private static byte[] tlv(int tag, byte[] content) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.write(tag);
    int length = content.length;
    if (length < 0x80) {
      out.write(length);
    } else {
      int bytes = (32 - Integer.numberOfLeadingZeros(length) + 7) / 8;
      out.write(0x80 | bytes);
      for (int i = bytes - 1; i >= 0; i--) {
        out.write(length >>> (8 * i));
      }
    }
    out.writeBytes(content);
    return out.toByteArray();
  }

  /** One DER header: tag, where the content starts and how long it is. */
  private static final class Der {
    final byte tag;
    final int contentStart;
    final int length;

    Der(byte[] der, int at) throws GeneralSecurityException {
      if (at + 2 > der.length) {
        throw new GeneralSecurityException("truncated DER in the client key");
      }
      tag = der[at];
      int first = der[at + 1] & 0xff;
      int start = at + 2;
      int value = first;
      if (first >= 0x80) {
        int bytes = first & 0x7f;
        if (bytes == 0 || bytes > 3 || start + bytes > der.length) {
          throw new GeneralSecurityException("bad DER length in the client key");
        }
        value = 0;
        for (int i = 0; i < bytes; i++) {
          value = (value << 8) | (der[start + i] & 0xff);
        }
        start += bytes;
      }
      if (start + value > der.length) {
        throw new GeneralSecurityException("truncated DER in the client key");
      }
      contentStart = start;
      length = value;
    }

    int end() {
      return contentStart + length;
    }
  }
}
