package io.migrategate.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import org.junit.jupiter.api.Test;

/** The shared rules: names, durations, back-off. Each module's messages build on these. */
class RulesTest {

  @Test
  void namespacesAreDnsLabels() {
    assertTrue(Names.isDnsLabel("shop"));
    assertTrue(Names.isDnsLabel("a".repeat(63)));
    assertFalse(Names.isDnsLabel("a".repeat(64)));
    assertFalse(Names.isDnsLabel("Shop"));
    assertFalse(Names.isDnsLabel("-shop"));
    assertFalse(Names.isDnsLabel("shop.eu"));
    assertFalse(Names.isDnsLabel(""));
    assertFalse(Names.isDnsLabel(null));
  }

  @Test
  void jobNamesAreSubdomainsThatFitALabelValue() {
    assertTrue(Names.isJobName("db-migrate.v2"));
    assertTrue(Names.isJobName("a".repeat(63)));
    assertFalse(Names.isJobName("a".repeat(64)), "the Job controller could not label its pods");
    assertFalse(Names.isJobName("db_migrate"));
    assertFalse(Names.isJobName("db..migrate"));
    assertTrue(Names.isDnsSubdomain("a".repeat(253)));
    assertFalse(Names.isDnsSubdomain("a".repeat(254)));
  }

  @Test
  void durationsOfOneGrammar() {
    assertEquals(Duration.ofMillis(500), Durations.parse("500ms"));
    assertEquals(Duration.ofMinutes(90), Durations.parse("1h30m"));
    assertEquals(Duration.ofDays(365), Durations.parse("365d"));
    assertEquals(Duration.ZERO, Durations.parse("0s"));
    assertThrows(IllegalArgumentException.class, () -> Durations.parsePositive("0s"));
    for (String bad : new String[] {"", "5", "1.5h", "5 s", "5S", "m", "-5s", null}) {
      assertThrows(IllegalArgumentException.class, () -> Durations.parse(bad), bad);
    }
    assertThrows(
        IllegalArgumentException.class,
        () -> Durations.parse("99999999999999999999d"),
        "too long is a usage error, not an overflow");
    assertThrows(IllegalArgumentException.class, () -> Durations.parse("9223372036854775807d"));
    assertThrows(
        IllegalArgumentException.class,
        () -> Durations.parse("106751991168d"),
        "holds as a Duration, but not in milliseconds: every caller schedules in milliseconds");
    assertEquals(Duration.ofDays(36500), Durations.parse("36500d"));
    assertEquals("0.4 s", Durations.format(Duration.ofMillis(420)));
    assertEquals("1h5m", Durations.format(Duration.ofMinutes(65)));
  }

  @Test
  void backoffDoublesToItsCapAndJittersInTheUpperHalf() {
    Backoff backoff = new Backoff(Duration.ofMillis(500), Duration.ofSeconds(30));
    assertEquals(Duration.ofMillis(500), backoff.delay(1));
    assertEquals(Duration.ofSeconds(1), backoff.delay(2));
    assertEquals(Duration.ofSeconds(16), backoff.delay(6));
    assertEquals(Duration.ofSeconds(30), backoff.delay(7));
    assertEquals(Duration.ofSeconds(30), backoff.delay(1000));
    for (int attempt = 1; attempt <= 10; attempt++) {
      long next = backoff.next().toMillis();
      long ceiling = backoff.delay(attempt).toMillis();
      assertTrue(next >= ceiling / 2 && next <= ceiling, attempt + ": " + next);
    }
    backoff.reset();
    assertTrue(backoff.next().toMillis() <= 500);
    assertThrows(
        IllegalArgumentException.class, () -> new Backoff(Duration.ZERO, Duration.ofSeconds(1)));
  }
}
