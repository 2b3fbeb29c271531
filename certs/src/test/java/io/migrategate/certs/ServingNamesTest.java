package io.migrategate.certs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class ServingNamesTest {
  @Test
  void allFormsOfTheServiceName() {
    assertEquals(
        List.of("gate", "gate.ops", "gate.ops.svc", "gate.ops.svc.cluster.local"),
        ServingNames.forService("gate", "ops"));
    assertEquals(
        List.of("gate", "gate.ops", "gate.ops.svc", "gate.ops.svc.corp.example"),
        ServingNames.forService("gate", "ops", "corp.example"));
  }

  @ParameterizedTest
  @ValueSource(strings = {"", "Gate", "1gate", "gate-", "ga_te", "gate.ops"})
  void invalidServiceNamesAreRejectedNamingTheField(String service) {
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> ServingNames.forService(service, "ops"));
    assertTrue(e.getMessage().startsWith("service name '" + service + "'"), e.getMessage());
  }

  @Test
  void namespacesMayStartWithADigitButNotBeEmptyOrTooLong() {
    assertEquals("gate.1ops", ServingNames.forService("gate", "1ops").get(1));
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class, () -> ServingNames.forService("gate", "x".repeat(64)));
    assertTrue(e.getMessage().startsWith("namespace name"), e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> ServingNames.forService("gate", null));
    assertThrows(
        IllegalArgumentException.class, () -> ServingNames.forService("gate", "ops", "bad domain"));
  }
}
