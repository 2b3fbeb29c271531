package io.migrategate.gate.tls;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.migrategate.certs.CertificateAuthority;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class CaSecretFormatTest {
  private final CertificateAuthority signer =
      CertificateAuthority.generate("signer", Duration.ofDays(30));
  private final CertificateAuthority previous =
      CertificateAuthority.generate("previous", Duration.ofDays(30));

  private static Secret secret(Map<String, String> data) {
    return new SecretBuilder()
        .withNewMetadata()
        .withNamespace("gate")
        .withName("migrate-gate-ca")
        .endMetadata()
        .withData(data)
        .build();
  }

  private static String base64(String text) {
    return Base64.getEncoder().encodeToString(text.getBytes(StandardCharsets.US_ASCII));
  }

  @Test
  void roundTripsTheSigningCaAndTheTrustedCas() {
    CaContent content = new CaContent(signer, List.of(previous.certificate()));
    Map<String, String> data = CaSecretFormat.encode(content);
    assertEquals(List.of("ca.crt", "ca.key", "ca-bundle.crt"), List.copyOf(data.keySet()));

    CaContent decoded = CaSecretFormat.decode(secret(data));
    assertEquals(signer.certificate(), decoded.signerCertificate());
    assertEquals(List.of(signer.certificate(), previous.certificate()), decoded.trusted());
  }

  @Test
  void roundTripsTheNextCaWithItsKey() {
    CertificateAuthority next =
        CertificateAuthority.generate("next", java.time.Duration.ofDays(50));
    CaContent content = new CaContent(signer, List.of(previous.certificate()), next);
    Map<String, String> data = CaSecretFormat.encode(content);
    assertEquals(
        List.of("ca.crt", "ca.key", "ca-bundle.crt", "next-ca.crt", "next-ca.key"),
        List.copyOf(data.keySet()));
    CaContent decoded = CaSecretFormat.decode(secret(data));
    assertEquals(next.certificate(), decoded.next().certificate());
    assertEquals(
        List.of(signer.certificate(), next.certificate(), previous.certificate()),
        decoded.trusted(),
        "signer, then the next CA, then earlier ones");
  }

  @Test
  void anEmptySecretHoldsNoCaYet() {
    assertNull(CaSecretFormat.decode(secret(null)));
    assertNull(CaSecretFormat.decode(secret(Map.of())));
  }

  @Test
  void aCaPutThereByHandWithoutABundleIsTrustedAlone() {
    Map<String, String> data =
        new HashMap<>(CaSecretFormat.encode(new CaContent(signer, List.of())));
    data.remove("ca-bundle.crt");
    assertEquals(List.of(signer.certificate()), CaSecretFormat.decode(secret(data)).trusted());
  }

  @Test
  void aHalfThereCaNamesTheSecretTheMissingKeyAndTheFix() {
    InvalidCaSecretException error =
        assertThrows(
            InvalidCaSecretException.class,
            () -> CaSecretFormat.decode(secret(Map.of("ca.key", base64(signer.privateKeyPem())))));
    assertEquals(
        "Secret gate/migrate-gate-ca has ca.key but no ca.crt; put back the missing key, or"
            + " remove both (and ca-bundle.crt) so that the gate generates a new CA",
        error.getMessage());
  }

  @Test
  void aKeyOfAnotherCaIsRefused() {
    InvalidCaSecretException error =
        assertThrows(
            InvalidCaSecretException.class,
            () ->
                CaSecretFormat.decode(
                    secret(
                        Map.of(
                            "ca.crt", base64(signer.certificatePem()),
                            "ca.key", base64(previous.privateKeyPem())))));
    assertTrue(
        error
            .getMessage()
            .startsWith("Secret gate/migrate-gate-ca keys ca.crt/ca.key are unusable: "),
        error.getMessage());
    assertTrue(error.getMessage().contains("does not belong"), error.getMessage());
  }

  @Test
  void garbageInTheBundleNamesTheKey() {
    Map<String, String> data =
        new HashMap<>(CaSecretFormat.encode(new CaContent(signer, List.of())));
    data.put("ca-bundle.crt", base64("not pem"));
    InvalidCaSecretException error =
        assertThrows(InvalidCaSecretException.class, () -> CaSecretFormat.decode(secret(data)));
    assertTrue(error.getMessage().contains("key ca-bundle.crt is unusable"), error.getMessage());
  }
}
