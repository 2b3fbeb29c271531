package io.migrategate.gate.admission;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class JobReferenceTest {

  @Test
  void listIsTrimmedAndDeduplicatedInOrder() throws Exception {
    JobReference jobs = JobReference.parse(" schema , seed,schema");
    assertEquals(List.of("schema", "seed"), jobs.names());
    assertEquals("schema,seed", jobs.joined());
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "migrate",
        "db-migrate-2",
        "app.v2.migrate",
        "0",
        "a23456789012345678901234567890123456789012345678901234567890123"
      })
  void acceptsJobNamesTheApiServerAccepts(String name) throws Exception {
    assertEquals(List.of(name), JobReference.parse(name).names());
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "Migrate",
        "migrate_db",
        "-migrate",
        "migrate-",
        "migrate..db",
        "migrate db",
        "a234567890123456789012345678901234567890123456789012345678901234",
        "",
        " ",
        "a,,b",
        "a,"
      })
  void rejectsWithTheRuleInTheMessage(String value) {
    InvalidAnnotationException e =
        assertThrows(InvalidAnnotationException.class, () -> JobReference.parse(value));
    assertTrue(e.getMessage().startsWith("migrate.io/job: \"" + value + "\""), e.getMessage());
    assertTrue(e.getMessage().contains("1-63 characters"), e.getMessage());
  }

  @Test
  void sixtyThreeIsTheLimit() {
    assertTrue(io.migrategate.core.Names.isJobName("a".repeat(63)));
    assertTrue(!io.migrategate.core.Names.isJobName("a".repeat(64)));
  }
}
