package io.migrategate.wait;

import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Durations as people write them in annotations: {@code 90s}, {@code 10m}, {@code 1h30m}. */
final class Durations {
  private static final Pattern PART = Pattern.compile("(\\d+)(ms|s|m|h|d)");
  private static final Pattern WHOLE = Pattern.compile("(?:\\d+(?:ms|s|m|h|d))+");

  private Durations() {}

  /**
   * Parses {@code <number><unit>} parts, units ms, s, m, h, d (e.g. {@code 1h30m}).
   *
   * @throws IllegalArgumentException when the text is not such a duration
   */
  static Duration parse(String text) {
    String trimmed = text.trim().toLowerCase(java.util.Locale.ROOT);
    if (!WHOLE.matcher(trimmed).matches()) {
      throw new IllegalArgumentException("not a duration: \"" + text + "\"");
    }
    Duration total = Duration.ZERO;
    Matcher part = PART.matcher(trimmed);
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
    return total;
  }

  /** Short human form: {@code 0.4 s}, {@code 83 s}, {@code 5m}, {@code 1h5m}. */
  static String format(Duration duration) {
    long millis = Math.max(0, duration.toMillis());
    if (millis < 10_000) {
      // by hand: String.format would load the locale machinery on the exit path
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
