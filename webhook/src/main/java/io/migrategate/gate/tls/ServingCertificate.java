package io.migrategate.gate.tls;

import io.migrategate.gate.server.TlsPolicy;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.net.PemKeyCertOptions;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.HexFormat;
import java.util.List;
import javax.net.ssl.KeyManager;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.X509KeyManager;

/**
 * A serving certificate and its key, read from PEM files and checked the way Vert.x will use them:
 * both parse and the key belongs to the certificate. Only a pair passing these checks is ever
 * handed to the HTTPS server, so a half-written pair never replaces a working one.
 */
public record ServingCertificate(
    Buffer certificatePem,
    Buffer privateKeyPem,
    String contentHash,
    String serialHex,
    String subject,
    Instant notBefore,
    Instant notAfter) {

  private static final List<String> KEY_TYPES = List.of("EC", "RSA", "EdDSA", "Ed25519", "Ed448");

  /** Why a certificate/key pair cannot be served; the message names the file and the problem. */
  public static final class InvalidCertificateException extends Exception {
    InvalidCertificateException(String message, Throwable cause) {
      super(message, cause);
    }
  }

  /** The SHA-256 of both files: cheap to compare before parsing anything. */
  static String hash(byte[] certificate, byte[] key) {
    try {
      MessageDigest digest = MessageDigest.getInstance("SHA-256");
      digest.update(certificate);
      digest.update((byte) 0);
      digest.update(key);
      return HexFormat.of().formatHex(digest.digest());
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is part of every JDK", e);
    }
  }

  public static ServingCertificate load(Vertx vertx, Path certificateFile, Path keyFile)
      throws InvalidCertificateException {
    byte[] certificate = read(certificateFile);
    byte[] key = read(keyFile);
    return parse(vertx, certificate, key, certificateFile, keyFile);
  }

  private static byte[] read(Path file) throws InvalidCertificateException {
    try {
      return Files.readAllBytes(file);
    } catch (IOException e) {
      throw new InvalidCertificateException("cannot read " + file + ": " + e, e);
    }
  }

  static ServingCertificate parse(
      Vertx vertx, byte[] certificate, byte[] key, Path certificateFile, Path keyFile)
      throws InvalidCertificateException {
    return parse(vertx, certificate, key, certificateFile + " and " + keyFile);
  }

  /** {@code files} names where the PEM came from, for error messages. */
  static ServingCertificate parse(Vertx vertx, byte[] certificate, byte[] key, String files)
      throws InvalidCertificateException {
    PemKeyCertOptions options =
        new PemKeyCertOptions()
            .setCertValue(Buffer.buffer(certificate))
            .setKeyValue(Buffer.buffer(key));
    X509KeyManager keyManager;
    try {
      KeyManagerFactory factory = options.getKeyManagerFactory(vertx);
      keyManager = x509KeyManager(factory.getKeyManagers());
    } catch (Exception e) {
      throw new InvalidCertificateException(
          "cannot parse " + files + " as a PEM certificate and private key: " + e.getMessage(), e);
    }
    String alias = serverAlias(keyManager);
    X509Certificate[] chain = alias == null ? null : keyManager.getCertificateChain(alias);
    PrivateKey privateKey = alias == null ? null : keyManager.getPrivateKey(alias);
    if (chain == null || chain.length == 0 || privateKey == null) {
      throw new InvalidCertificateException(
          files + " hold no usable certificate and private key (supported keys: EC, RSA, EdDSA)",
          null);
    }
    X509Certificate leaf = chain[0];
    requireKeyMatches(privateKey, leaf, files);
    return new ServingCertificate(
        Buffer.buffer(certificate),
        Buffer.buffer(key),
        hash(certificate, key),
        leaf.getSerialNumber().toString(16),
        leaf.getSubjectX500Principal().getName(),
        leaf.getNotBefore().toInstant(),
        leaf.getNotAfter().toInstant());
  }

  private static X509KeyManager x509KeyManager(KeyManager[] managers) {
    for (KeyManager manager : managers) {
      if (manager instanceof X509KeyManager x509) {
        return x509;
      }
    }
    throw new IllegalStateException("no X.509 key manager");
  }

  private static String serverAlias(X509KeyManager keyManager) {
    for (String type : KEY_TYPES) {
      String[] aliases = keyManager.getServerAliases(type, null);
      if (aliases != null && aliases.length > 0) {
        return aliases[0];
      }
    }
    return null;
  }

  /**
   * A new certificate written before its new key (or the reverse) parses fine but cannot complete a
   * handshake; a signature made with the key and checked with the certificate catches it.
   */
  private static void requireKeyMatches(PrivateKey key, X509Certificate leaf, String files)
      throws InvalidCertificateException {
    String algorithm =
        switch (key.getAlgorithm()) {
          case "EC" -> "SHA256withECDSA";
          case "RSA" -> "SHA256withRSA";
          case "EdDSA", "Ed25519", "Ed448" -> "EdDSA";
          default -> null;
        };
    if (algorithm == null) {
      throw new InvalidCertificateException(
          files + ": unsupported private key algorithm " + key.getAlgorithm(), null);
    }
    try {
      byte[] challenge = new byte[32];
      new SecureRandom().nextBytes(challenge);
      Signature signer = Signature.getInstance(algorithm);
      signer.initSign(key);
      signer.update(challenge);
      byte[] signature = signer.sign();
      Signature verifier = Signature.getInstance(algorithm);
      verifier.initVerify(leaf.getPublicKey());
      verifier.update(challenge);
      if (verifier.verify(signature)) {
        return;
      }
    } catch (Exception e) {
      throw new InvalidCertificateException(
          files + ": the private key does not belong to the certificate (" + e + ")", e);
    }
    throw new InvalidCertificateException(
        files + ": the private key does not belong to the certificate", null);
  }

  public boolean validAt(Instant now) {
    return !now.isBefore(notBefore) && now.isBefore(notAfter);
  }

  /** The certificate and key for a server's options; the TLS rules are {@link TlsPolicy}'s. */
  public PemKeyCertOptions keyCertOptions() {
    return new PemKeyCertOptions().setCertValue(certificatePem).setKeyValue(privateKeyPem);
  }
}
