package io.migrategate.certs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

class PemTest {
  private static final CertificateAuthority CA =
      CertificateAuthority.generate("migrate-gate-ca", Duration.ofDays(30));

  // `openssl ecparam -name prime256v1 -genkey`: EC PARAMETERS followed by a SEC1 EC PRIVATE KEY.
  private static final String OPENSSL_SEC1_KEY =
      """
      -----BEGIN EC PARAMETERS-----
      BggqhkjOPQMBBw==
      -----END EC PARAMETERS-----
      -----BEGIN EC PRIVATE KEY-----
      MHcCAQEEIF6ukbeKWIxBVhKZHuzFPMrbkfXnoKebMB3LbHlBChq0oAoGCCqGSM49
      AwEHoUQDQgAEMzWvmWP8eEP8vatY0uJIzyVNyI+8DcpRqb+f5AJS02zbQjzq8bts
      QTR/rc3xLv7TXjs8L7lOiHpQuOQ5SCFnKA==
      -----END EC PRIVATE KEY-----
      """;

  @Test
  void certificateAndKeyRoundTrip() {
    IssuedCertificate leaf = CA.issueServing(List.of("svc"), List.of(), Duration.ofDays(1));

    String certificatePem = leaf.certificatePem();
    String keyPem = leaf.privateKeyPem();

    assertTrue(certificatePem.startsWith("-----BEGIN CERTIFICATE-----\n"), certificatePem);
    assertTrue(keyPem.startsWith("-----BEGIN PRIVATE KEY-----\n"), "PKCS#8: " + keyPem);
    assertEquals(leaf.certificate(), Pem.readCertificate(certificatePem));
    PrivateKey key = Pem.readPrivateKey(keyPem);
    assertArrayEquals(leaf.privateKey().getEncoded(), key.getEncoded());
    assertEquals(keyPem, Pem.writePrivateKey(key));
    assertEquals(certificatePem, Pem.writeCertificate(Pem.readCertificate(certificatePem)));
  }

  @Test
  void bundlesKeepTheirOrderAndCombinedFilesSplit() {
    IssuedCertificate leaf = CA.issueServing(List.of("svc"), List.of(), Duration.ofDays(1));
    String combined = leaf.chainPem() + leaf.privateKeyPem();

    List<X509Certificate> certificates = Pem.readCertificates(combined);

    assertEquals(List.of(leaf.certificate(), CA.certificate()), certificates);
    assertArrayEquals(leaf.privateKey().getEncoded(), Pem.readPrivateKey(combined).getEncoded());
    assertMessage("expected exactly 1 certificate, found 2", () -> Pem.readCertificate(combined));
  }

  @Test
  void readsOpensslSec1EcPrivateKeys() {
    PrivateKey key = Pem.readPrivateKey(OPENSSL_SEC1_KEY);

    assertEquals("EC", key.getAlgorithm());
    assertTrue(Pem.writePrivateKey(key).startsWith("-----BEGIN PRIVATE KEY-----"));
  }

  @Test
  void unusableInputIsExplained() {
    assertMessage("PEM text is empty", () -> Pem.readCertificates(" \n"));
    assertMessage("no CERTIFICATE block found", () -> Pem.readCertificates(CA.privateKeyPem()));
    assertMessage("no private key block found", () -> Pem.readPrivateKey(CA.certificatePem()));
    assertMessage(
        "malformed PEM",
        () ->
            Pem.readCertificates("-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n"));
    assertMessage(
        "encrypted",
        () ->
            Pem.readPrivateKey(
                """
                -----BEGIN ENCRYPTED PRIVATE KEY-----
                MIHsMFcGCSqGSIb3DQEFDTBKMCkGCSqGSIb3DQEFDDAcBAiO2achpLsudQICCAAw
                DAYIKoZIhvcNAgkFADAdBglghkgBZQMEASoEEKe6WiQzaef/6ZVmSf4sHksEgZC8
                ah2TYSzaPqxSSWi0KzbLAMnksGDHiISCaaLu4pkRVcetobAvlK6kyn4ch3YBUd8j
                A+giRD925lyHZXRYjTfduTb9/mJEhUaGvzJoRUs37sJDiuBiV9IPseZ66z+3R9fp
                HVif9xjSPvzCZ6CWhrQ3loxdRNgOHAf03Wl6ddCJEsluDcheOr3tbO1KdZrXhhU=
                -----END ENCRYPTED PRIVATE KEY-----
                """));
  }

  private static void assertMessage(
      String expected, org.junit.jupiter.api.function.Executable call) {
    PemException e = assertThrows(PemException.class, call);
    assertTrue(e.getMessage().contains(expected), () -> "message: " + e.getMessage());
  }
}
