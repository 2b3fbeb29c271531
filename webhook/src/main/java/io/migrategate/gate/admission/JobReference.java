package io.migrategate.gate.admission;

import io.migrategate.core.Names;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * The Jobs a pod waits for: every one must succeed. Parsed from {@code migrate.io/job}.
 *
 * @param names distinct Job names, in the order written
 */
public record JobReference(List<String> names) {

  /** The rule, as stated to users in denials and in docs/annotations.md. */
  public static final String JOB_NAME_RULE =
      "each comma-separated Job name must be " + Names.JOB_NAME_RULE;

  public JobReference {
    if (names.isEmpty()) {
      throw new IllegalArgumentException("a JobReference names at least one Job");
    }
    names = List.copyOf(names);
  }

  /**
   * Parses {@code "migrate"} or {@code "schema, seed"}: spaces around names are ignored, a repeated
   * name counts once, an empty element ({@code "a,,b"}, a trailing comma) is an error, and so are
   * more than {@link WaitLimits#MAX_JOBS} distinct names.
   */
  static JobReference parse(String value) throws InvalidAnnotationException {
    if (value == null || value.isBlank()) {
      throw new InvalidAnnotationException(
          GateAnnotations.JOB, String.valueOf(value), "is empty: " + JOB_NAME_RULE);
    }
    Set<String> names = new LinkedHashSet<>();
    for (String element : value.split(",", -1)) {
      String name = element.strip();
      if (name.isEmpty()) {
        throw new InvalidAnnotationException(
            GateAnnotations.JOB, value, "has an empty element: " + JOB_NAME_RULE);
      }
      if (!Names.isJobName(name)) {
        throw new InvalidAnnotationException(
            GateAnnotations.JOB,
            value,
            "names '" + name + "', not a valid Job name: " + JOB_NAME_RULE);
      }
      names.add(name);
    }
    if (names.size() > WaitLimits.MAX_JOBS) {
      throw new InvalidAnnotationException(
          GateAnnotations.JOB,
          value,
          "names "
              + names.size()
              + " distinct Jobs, more than the "
              + WaitLimits.MAX_JOBS
              + " the gate's wait API accepts for one pod (its waiter could never get an answer):"
              + " name at most "
              + WaitLimits.MAX_JOBS
              + " Jobs, e.g. one Job that runs the migration steps in sequence");
    }
    return new JobReference(new ArrayList<>(names));
  }

  public boolean contains(String jobName) {
    return names.contains(jobName);
  }

  /** The value of {@code MIGRATE_GATE_JOBS}. */
  public String joined() {
    return String.join(",", names);
  }
}
