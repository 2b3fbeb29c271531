package io.migrategate.gate.admission;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class AnnotationValuesTest {

  @ParameterizedTest
  @ValueSource(strings = {"90s", "10m", "1h", "1h30m", "500ms", "2d"})
  void timeoutsTheWaiterAccepts(String value) throws Exception {
    assertEquals(Optional.of(value), AnnotationValues.timeout(value));
  }

  @ParameterizedTest
  @ValueSource(strings = {"0s", "10", "ten minutes", "10 m", "-5m", "1.5h", "10M", ""})
  void timeoutsItRefuses(String value) {
    assertThrows(InvalidAnnotationException.class, () -> AnnotationValues.timeout(value));
  }

  @Test
  void injectIsTrueOrFalseOnly() throws Exception {
    assertEquals(Optional.of(false), AnnotationValues.inject("false"));
    assertEquals(Optional.of(true), AnnotationValues.inject("true"));
    assertEquals(Optional.empty(), AnnotationValues.inject(null));
    assertThrows(InvalidAnnotationException.class, () -> AnnotationValues.inject("False"));
    assertThrows(InvalidAnnotationException.class, () -> AnnotationValues.inject("disabled"));
  }

  @Test
  void revisionMustNotBeBlank() throws Exception {
    assertEquals(Optional.of("abc"), AnnotationValues.revision("abc"));
    assertThrows(InvalidAnnotationException.class, () -> AnnotationValues.revision(" "));
  }
}
