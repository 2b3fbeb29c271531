package io.migrategate.certs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import org.junit.jupiter.api.Test;

class CaBundleTest {
  private static final CertificateAuthority OLD =
      CertificateAuthority.generate("ca-1", Duration.ofDays(1));
  private static final CertificateAuthority NEW =
      CertificateAuthority.generate("ca-2", Duration.ofDays(1));

  @Test
  void bundleIsBase64OfThePemAndRoundTrips() {
    String bundle = CaBundle.encode(OLD.certificatePem());

    assertEquals(
        OLD.certificatePem(),
        new String(Base64.getDecoder().decode(bundle), StandardCharsets.US_ASCII));
    assertEquals(List.of(OLD.certificate()), CaBundle.decode(bundle));
  }

  @Test
  void rotationBundleTrustsBothCas() {
    String bundle = CaBundle.encode(List.of(OLD.certificate(), NEW.certificate()));

    assertTrue(CaBundle.trusts(bundle, OLD.certificate()));
    assertTrue(CaBundle.trusts(bundle, NEW.certificate()));
    assertFalse(CaBundle.trusts(CaBundle.encode(NEW.certificatePem()), OLD.certificate()));
  }

  @Test
  void garbageIsReportedAsACaBundleProblem() {
    PemException notBase64 = assertThrows(PemException.class, () -> CaBundle.decode("%%%"));
    assertTrue(
        notBase64.getMessage().startsWith("caBundle is not valid base64"), notBase64.getMessage());
    PemException notPem =
        assertThrows(
            PemException.class,
            () ->
                CaBundle.decode(
                    Base64.getEncoder()
                        .encodeToString("hello".getBytes(StandardCharsets.US_ASCII))));
    assertTrue(
        notPem.getMessage().startsWith("caBundle: no CERTIFICATE block"), notPem.getMessage());
    assertThrows(PemException.class, () -> CaBundle.encode(OLD.privateKeyPem()));
  }
}
