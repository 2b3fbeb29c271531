package io.migrategate.admission;

/**
 * An annotation value the gate refuses; the message names the annotation, the value and the rule.
 */
final class InvalidAnnotationException extends Exception {
  private static final long serialVersionUID = 1L;

  InvalidAnnotationException(String annotation, String value, String rule) {
    super(annotation + ": \"" + value + "\" " + rule);
  }
}
