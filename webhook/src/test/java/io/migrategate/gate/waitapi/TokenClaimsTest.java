package io.migrategate.gate.waitapi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class TokenClaimsTest {
  private static final long NOW = 1_800_000_000L;

  @Test
  void aPodBoundTokenForTheAudienceThatHasNotExpiredMayBeOne() {
    assertNull(
        TokenClaims.precheck(FakeJwt.of("migrate-gate", NOW + 60, true), "migrate-gate", NOW));
  }

  @Test
  void whatCannotBeAWaitersTokenIsRefused() {
    assertTrue(TokenClaims.precheck("random", "migrate-gate", NOW).contains("not a JWT"));
    assertTrue(TokenClaims.precheck("a.b.c", "migrate-gate", NOW).contains("not a JWT"));
    assertTrue(TokenClaims.precheck("", "migrate-gate", NOW).contains("length"));
    assertTrue(
        TokenClaims.precheck("x".repeat(TokenClaims.MAX_TOKEN_CHARS + 1), "migrate-gate", NOW)
            .contains("length"));
    assertTrue(
        TokenClaims.precheck(FakeJwt.of("api", NOW + 60, true), "migrate-gate", NOW)
            .contains("audience"));
    assertTrue(
        TokenClaims.precheck(FakeJwt.of("migrate-gate", NOW, true), "migrate-gate", NOW)
            .contains("expired"));
    assertNotNull(
        TokenClaims.precheck(FakeJwt.of("migrate-gate", NOW + 60, false), "migrate-gate", NOW));
    assertTrue(
        TokenClaims.precheck(FakeJwt.of("migrate-gate", NOW + 60, false), "migrate-gate", NOW)
            .contains("not bound to a pod"));
  }

  @Test
  void theExpiryIsReadFromTheClaims() {
    assertEquals(NOW + 60, TokenClaims.expiry(FakeJwt.of("migrate-gate", NOW + 60, true)));
    assertEquals(0, TokenClaims.expiry("not-a-jwt"));
  }
}
