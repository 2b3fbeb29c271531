package io.migrategate.wait;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.PrivateKey;
import java.security.Signature;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.KeyManager;
import javax.net.ssl.X509KeyManager;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Client keys as openssl and kubeadm write them: each encoding loads, and the loaded key signs what
 * the certificate's public key verifies (so the pair really belongs together).
 */
class ClientKeyTest {
  @TempDir Path dir;

  @ParameterizedTest(name = "{0}")
  @CsvSource({
    // openssl ecparam -genkey: SEC1 "EC PRIVATE KEY" with the named curve (local-cluster, kubeadm)
    "EC PRIVATE KEY (SEC1), ecparam -name prime256v1 -genkey -noout, SHA256withECDSA",
    "EC P-384 (SEC1), ecparam -name secp384r1 -genkey -noout, SHA384withECDSA",
    // openssl genrsa -traditional: PKCS#1 "RSA PRIVATE KEY"
    "RSA PRIVATE KEY (PKCS#1), genrsa -traditional 2048, SHA256withRSA",
    // openssl genpkey: PKCS#8 "PRIVATE KEY"
    "PRIVATE KEY (PKCS#8 RSA), genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048, SHA256withRSA",
    "PRIVATE KEY (PKCS#8 EC), genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256, SHA256withECDSA",
  })
  void loadsEachEncodingAndTheKeyMatchesTheCertificate(
      String encoding, String generate, String algorithm) throws Exception {
    Path key = dir.resolve("client.key");
    Path cert = dir.resolve("client.crt");
    List<String> words = List.of(generate.split(" "));
    List<String> command =
        new ArrayList<>(List.of("openssl", words.get(0), "-out", key.toString()));
    command.addAll(words.subList(1, words.size()));
    openssl(command);
    openssl(
        List.of(
            "openssl",
            "req",
            "-x509",
            "-new",
            "-key",
            key.toString(),
            "-subj",
            "/CN=migrate-gate-test",
            "-days",
            "1",
            "-out",
            cert.toString()));
    assertTrue(Files.readString(key).contains("BEGIN " + pemType(encoding)), encoding);

    byte[] certPem = Files.readAllBytes(cert);
    PrivateKey loaded = ClientKey.privateKey(Files.readAllBytes(key));
    X509Certificate certificate =
        (X509Certificate)
            CertificateFactory.getInstance("X.509")
                .generateCertificate(new java.io.ByteArrayInputStream(certPem));
    Signature sign = Signature.getInstance(algorithm);
    sign.initSign(loaded);
    sign.update("migrate-gate".getBytes(StandardCharsets.UTF_8));
    byte[] signature = sign.sign();
    Signature verify = Signature.getInstance(algorithm);
    verify.initVerify(certificate.getPublicKey());
    verify.update("migrate-gate".getBytes(StandardCharsets.UTF_8));
    assertTrue(verify.verify(signature), encoding + ": the key does not match the certificate");

    KeyManager[] managers = ClientKey.keyManagers(certPem, Files.readAllBytes(key));
    X509KeyManager manager = (X509KeyManager) managers[0];
    assertEquals(
        "CN=migrate-gate-test",
        manager.getCertificateChain("client")[0].getSubjectX500Principal().getName());
  }

  @Test
  void otherPemBlocksAreRefusedWithTheTypesThatWork() {
    GeneralSecurityException e =
        assertThrows(
            GeneralSecurityException.class,
            () ->
                ClientKey.privateKey(
                    "-----BEGIN DSA PRIVATE KEY-----\nAAAA\n-----END DSA PRIVATE KEY-----\n"
                        .getBytes(StandardCharsets.US_ASCII)));
    assertEquals(
        "unsupported client key type \"DSA PRIVATE KEY\": use a PRIVATE KEY, RSA PRIVATE KEY or"
            + " EC PRIVATE KEY",
        e.getMessage());
  }

  @Test
  void aTruncatedKeyIsAnErrorNotACrash() {
    assertThrows(
        GeneralSecurityException.class,
        () ->
            ClientKey.privateKey(
                "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEE\n-----END EC PRIVATE KEY-----\n"
                    .getBytes(StandardCharsets.US_ASCII)));
    assertThrows(
        GeneralSecurityException.class,
        () -> ClientKey.privateKey("not a key".getBytes(StandardCharsets.US_ASCII)));
  }

  private static String pemType(String encoding) {
    return encoding.startsWith("EC") ? "EC PRIVATE KEY" : encoding.replaceAll(" \\(.*", "");
  }

  private static void openssl(List<String> command) throws IOException, InterruptedException {
    Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
    String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!process.waitFor(60, TimeUnit.SECONDS) || process.exitValue() != 0) {
      throw new IOException(command + " failed: " + output);
    }
  }
}
