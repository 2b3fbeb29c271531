package io.migrategate.gate.admission;

/**
 * An annotation value the gate refuses; the message names the annotation, the value and the rule.
 */
final class InvalidAnnotationException extends Exception {
  private static final long serialVersionUID = 1L;

  /** Longer values are shown abbreviated, with their length: a denial must stay readable. */
  static final int MAX_VALUE_SHOWN = 128;

  InvalidAnnotationException(String annotation, String value, String rule) {
    super(annotation + ": " + quoted(value) + " " + rule);
  }

  private static String quoted(String value) {
    if (value == null || value.length() <= MAX_VALUE_SHOWN) {
      return "\"" + value + "\"";
    }
    return "\"" + value.substring(0, MAX_VALUE_SHOWN) + "...\" (" + value.length() + " characters)";
  }
}
