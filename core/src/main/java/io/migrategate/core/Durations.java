package io.migrategate.core;

import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The one duration grammar of every flag, environment variable and annotation: {@code 500ms},
 * {@code 90s}, {@code 10m}, {@code 1h30m}, {@code 365d}. Callers word their own error message
 * (which flag, which fix); the grammar is only here.
 */
public final class Durations {
  private static final Pattern PART = Pattern.compile("(\\d+)(ms|s|m|h|d)");
  private static final Pattern WHOLE = Pattern.compile("(?:\\d+(?:ms|s|m|h|d))+");

  /** The grammar in words, for error messages. */
  public static final String GRAMMAR =
      "one or more <digits><unit> parts, units ms, s, m, h, d (e.g. 500ms, 90s, 1h30m)";

  private Durations() {}

  /**
   * Parses {@code <number><unit>} parts, units ms, s, m, h, d (e.g. {@code 1h30m}); exact text: no
   * spaces, lower-case units.
   *
   * @throws IllegalArgumentException when the text is not such a duration, or one too long to count
   *     in milliseconds (beyond 292 million years)
   */
  public static Duration parse(String text) {
    if (text == null || !WHOLE.matcher(text).matches()) {
      throw new IllegalArgumentException("not a duration: \"" + text + "\"");
    }
    try {
      Duration total = Duration.ZERO;
      Matcher part = PART.matcher(text);
      while (part.find()) {
        long amount = Long.parseLong(part.group(1));
        total =
            total.plus(
                switch (part.group(2)) {
                  case "ms" -> Duration.ofMillis(amount);
                  case "s" -> Duration.ofSeconds(amount);
                  case "m" -> Duration.ofMinutes(amount);
                  case "h" -> Duration.ofHours(amount);
                  default -> Duration.ofDays(amount);
                });
      }
      total.toMillis(); // every caller schedules in milliseconds: refuse what they cannot hold
      return total;
    } catch (ArithmeticException | NumberFormatException e) {
      throw new IllegalArgumentException("duration too long: \"" + text + "\"", e);
    }
  }

  /** {@link #parse} that also requires more than zero. */
  public static Duration parsePositive(String text) {
    Duration parsed = parse(text);
    if (parsed.isZero()) {
      throw new IllegalArgumentException("not a positive duration: \"" + text + "\"");
    }
    return parsed;
  }

  /** Short human form: {@code 0.4 s}, {@code 83 s}, {@code 5m}, {@code 1h5m}. */
  public static String format(Duration duration) {
    long millis = Math.max(0, duration.toMillis());
    if (millis < 10_000) {
      // by hand: String.format would load the locale machinery on the waiter's exit path
      long tenths = (millis + 50) / 100;
      return tenths / 10 + "." + tenths % 10 + " s";
    }
    long seconds = millis / 1000;
    if (seconds < 120) {
      return seconds + " s";
    }
    long minutes = seconds / 60;
    if (minutes < 60) {
      return minutes + "m";
    }
    return (minutes / 60) + "h" + (minutes % 60 == 0 ? "" : (minutes % 60) + "m");
  }
}
