package io.migrategate.admission;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The Jobs a pod waits for: every one must succeed. Parsed from {@code migrate.io/job}.
 *
 * @param names distinct Job names, in the order written
 */
public record JobReference(List<String> names) {

  /**
   * The longest Job name that works. The API server validates Job names as DNS-1123 subdomains (253
   * characters), but it also copies the name into the {@code batch.kubernetes.io/job-name} label of
   * the Job's pod template, and label values stop at 63 characters, so a longer Job can never be
   * created.
   */
  public static final int MAX_JOB_NAME_LENGTH = 63;

  private static final Pattern DNS1123_SUBDOMAIN =
      Pattern.compile("[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*");

  /** The rule, as stated to users in denials and in docs/annotations.md. */
  public static final String JOB_NAME_RULE =
      "each comma-separated Job name must be 1-63 characters of lowercase letters, digits, '-' and"
          + " '.', starting and ending with a letter or digit (a DNS-1123 subdomain of at most 63"
          + " characters: the Job controller copies the name into a label)";

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
      if (!isValidJobName(name)) {
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

  public static boolean isValidJobName(String name) {
    return name.length() <= MAX_JOB_NAME_LENGTH && DNS1123_SUBDOMAIN.matcher(name).matches();
  }

  public boolean contains(String jobName) {
    return names.contains(jobName);
  }

  /** The value of {@code MIGRATE_GATE_JOBS}. */
  public String joined() {
    return String.join(",", names);
  }
}
