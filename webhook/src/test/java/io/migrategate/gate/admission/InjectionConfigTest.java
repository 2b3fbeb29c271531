package io.migrategate.gate.admission;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Set;
import org.junit.jupiter.api.Test;

class InjectionConfigTest {

  @Test
  void defaultsExcludeSystemAndOwnNamespaces() {
    InjectionConfig config = InjectionConfig.defaults("waiter:1", "migrate-gate");
    assertEquals(FailurePolicy.FAIL_CLOSED, config.failurePolicy());
    assertEquals(InjectionConfig.DEFAULT_RESOURCES, config.resources());
    for (String ns : Set.of("kube-system", "kube-public", "kube-node-lease", "migrate-gate")) {
      assertTrue(config.isExcluded(ns), ns);
    }
    assertFalse(config.isExcluded("shop"));
  }

  @Test
  void configuredExclusionsAddToTheSystemOnes() {
    InjectionConfig config =
        new InjectionConfig(
            "waiter:1",
            InjectionConfig.DEFAULT_RESOURCES,
            FailurePolicy.FAIL_OPEN,
            "gate",
            Set.of("monitoring"),
            InjectionConfig.DEFAULT_RUN_AS_USER);
    assertTrue(config.isExcluded("monitoring"));
    assertTrue(config.isExcluded("kube-system"));
  }

  @Test
  void badValuesAreRejectedWithTheField() {
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> new WaiterResources("10x", "48Mi", "500m", "96Mi"));
    assertEquals(
        "waiter requests.cpu '10x' is not a Kubernetes quantity (e.g. 10m or 48Mi)",
        e.getMessage());
    e =
        assertThrows(
            IllegalArgumentException.class,
            () -> new WaiterResources("10m", "128Mi", "500m", "96Mi"));
    assertEquals(
        "waiter memory request 128Mi is above its limit 96Mi; Kubernetes rejects such a container",
        e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> InjectionConfig.defaults(" ", "gate"));
    assertEquals("the waiter image is required (--waiter-image)", e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> FailurePolicy.parse("fail-sometimes"));
    assertEquals(
        "owner lookup failure policy 'fail-sometimes' is not one of fail-closed, fail-open",
        e.getMessage());
  }

  @Test
  void failurePolicyParsesFlagSpelling() {
    assertEquals(FailurePolicy.FAIL_OPEN, FailurePolicy.parse("fail-open"));
    assertEquals(FailurePolicy.FAIL_CLOSED, FailurePolicy.parse("fail-closed"));
  }
}
