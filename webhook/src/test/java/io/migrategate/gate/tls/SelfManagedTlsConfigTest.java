package io.migrategate.gate.tls;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.migrategate.certs.ServingNames;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

class SelfManagedTlsConfigTest {
  private final SelfManagedTlsConfig defaults =
      SelfManagedTlsConfig.defaults(
          "migrate-gate", ServingNames.forService("migrate-gate", "migrate-gate"), List.of());

  @Test
  void defaultsAreAYearlyCaAndWeeklyServingCertificatesRenewedAtTwoThirds() {
    assertEquals("migrate-gate-ca", defaults.caSecretName());
    assertEquals("migrate-gate", defaults.webhookConfigurationName());
    assertEquals(Duration.ofDays(365), defaults.caValidity());
    assertEquals(Duration.ofDays(7), defaults.servingValidity());
    assertEquals(2.0 / 3.0, defaults.renewFraction());
    assertTrue(defaults.manageCaBundle());
  }

  @Test
  void aServingCertificateMustBeShorterLivedThanItsCa() {
    IllegalArgumentException error =
        assertThrows(
            IllegalArgumentException.class,
            () ->
                defaults.withTiming(
                    Duration.ofDays(7),
                    Duration.ofDays(7),
                    Duration.ZERO,
                    Duration.ZERO,
                    Duration.ofMinutes(1)));
    assertTrue(
        error.getMessage().contains("must be shorter than the CA validity"), error.getMessage());
  }

  @Test
  void badNamesAreRefusedWithTheField() {
    IllegalArgumentException error =
        assertThrows(
            IllegalArgumentException.class, () -> defaults.withCaSecretName("Migrate_Gate"));
    assertTrue(
        error
            .getMessage()
            .startsWith("CA Secret name 'Migrate_Gate' is not a valid Kubernetes name"),
        error.getMessage());
  }

  @Test
  void aCertificateNeedsAName() {
    IllegalArgumentException error =
        assertThrows(
            IllegalArgumentException.class,
            () -> SelfManagedTlsConfig.defaults("migrate-gate", List.of(), List.of()));
    assertTrue(error.getMessage().contains("at least one DNS name or IP address"));
  }
}
