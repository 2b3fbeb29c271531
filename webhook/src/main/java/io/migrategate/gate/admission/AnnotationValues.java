package io.migrategate.gate.admission;

import io.migrategate.core.Durations;
import java.util.Optional;

/**
 * The value rules of {@code migrate.io/inject}, {@code migrate.io/timeout} and {@code
 * migrate.io/revision} ({@link JobReference} holds the rule of {@code migrate.io/job}). A value
 * that breaks a rule is denied at admission so the mistake shows at deploy time.
 */
public final class AnnotationValues {
  static final String INJECT_RULE = "must be \"true\" or \"false\"";
  static final String TIMEOUT_RULE =
      "must be a positive duration such as 90s, 10m, 1h or 1h30m (units ms, s, m, h, d)";
  static final String REVISION_RULE =
      "must not be empty (and at most " + WaitLimits.MAX_REVISION_LENGTH + " characters)";
  static final String SOURCE_RULE = "must be \"gate\" or \"api\"";

  private AnnotationValues() {}

  /**
   * What admission says about one value of a gate annotation: empty when the gate admits it, else
   * its denial. The apply-time warnings (manifests/base/annotation-warnings.yaml) restate these
   * rules in CEL; their test holds the two in step with this method.
   */
  public static Optional<String> problem(String key, String value) {
    try {
      switch (key) {
        case GateAnnotations.JOB -> JobReference.parse(value);
        case GateAnnotations.INJECT -> inject(value);
        case GateAnnotations.TIMEOUT -> timeout(value);
        case GateAnnotations.REVISION -> revision(value);
        case GateAnnotations.SOURCE -> source(value);
        default -> throw new IllegalArgumentException("no value rule for annotation " + key);
      }
      return Optional.empty();
    } catch (InvalidAnnotationException e) {
      return Optional.of(e.getMessage());
    }
  }

  /** {@code false} only for an explicit opt-out; absent means "not opted out". */
  static Optional<Boolean> inject(String value) throws InvalidAnnotationException {
    if (value == null) {
      return Optional.empty();
    }
    return switch (value) {
      case "true" -> Optional.of(true);
      case "false" -> Optional.of(false);
      default -> throw new InvalidAnnotationException(GateAnnotations.INJECT, value, INJECT_RULE);
    };
  }

  static Optional<String> timeout(String value) throws InvalidAnnotationException {
    if (value == null) {
      return Optional.empty();
    }
    try {
      Durations.parsePositive(value); // the waiter's own grammar: it parses the same text
      return Optional.of(value);
    } catch (IllegalArgumentException e) {
      throw new InvalidAnnotationException(GateAnnotations.TIMEOUT, value, TIMEOUT_RULE);
    }
  }

  static Optional<StatusSource> source(String value) throws InvalidAnnotationException {
    if (value == null) {
      return Optional.empty();
    }
    return switch (value) {
      case "gate" -> Optional.of(StatusSource.GATE);
      case "api" -> Optional.of(StatusSource.API);
      default -> throw new InvalidAnnotationException(GateAnnotations.SOURCE, value, SOURCE_RULE);
    };
  }

  static Optional<String> revision(String value) throws InvalidAnnotationException {
    if (value == null) {
      return Optional.empty();
    }
    if (value.isBlank()) {
      throw new InvalidAnnotationException(GateAnnotations.REVISION, value, REVISION_RULE);
    }
    if (value.length() > WaitLimits.MAX_REVISION_LENGTH) {
      throw new InvalidAnnotationException(
          GateAnnotations.REVISION,
          value,
          "is longer than the "
              + WaitLimits.MAX_REVISION_LENGTH
              + " characters the gate's wait API accepts (the waiter could never get an answer): use a"
              + " shorter revision, e.g. a release number or a commit SHA");
    }
    return Optional.of(value);
  }
}
