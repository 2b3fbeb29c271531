package io.migrategate.demo;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A {@code key=value} log line of the gate or the waiter ({@code ts=... level=info msg="..."}),
 * shortened for the live view: the timestamp goes (the view has its own), the rest stays.
 */
final class LogLine {
  /** slf4j-simple: {@code 2026-11-21T21:38:41.410Z INFO KubernetesOwnerLookup - text}. */
  private static final Pattern LIBRARY_LINE =
      Pattern.compile("\\S+ (TRACE|DEBUG|INFO|WARN|ERROR) \\S+ - (.*)");

  /** The live view shows the first few fields of a gate line, shortened; the log file has all. */
  private static final int MAX_FIELDS = 3;

  private static final int MAX_VALUE = 60;

  /** Fields the live view never shows: the message itself, its level and time, the logger. */
  private static final Set<String> HIDDEN_FIELDS = Set.of("msg", "level", "time", "ts", "logger");

  private LogLine() {}

  /**
   * Keys and values in order; values in double quotes are unescaped. Not a key=value line: empty.
   */
  static Map<String, String> parse(String line) {
    Map<String, String> fields = new LinkedHashMap<>();
    int i = 0;
    int n = line.length();
    while (i < n) {
      while (i < n && line.charAt(i) == ' ') {
        i++;
      }
      int equals = line.indexOf('=', i);
      int space = line.indexOf(' ', i);
      if (equals < 0 || (space >= 0 && space < equals)) {
        return Map.of();
      }
      String key = line.substring(i, equals);
      i = equals + 1;
      StringBuilder value = new StringBuilder();
      if (i < n && line.charAt(i) == '"') {
        i++;
        while (i < n && line.charAt(i) != '"') {
          char c = line.charAt(i);
          if (c == '\\' && i + 1 < n) {
            char next = line.charAt(++i);
            value.append(next == 'n' ? '\n' : next == 't' ? '\t' : next);
          } else {
            value.append(c);
          }
          i++;
        }
        i++;
      } else {
        while (i < n && line.charAt(i) != ' ') {
          value.append(line.charAt(i++));
        }
      }
      fields.put(key, value.toString());
    }
    return fields;
  }

  /**
   * The gate's line for the live view, or empty for library chatter: the gate's own state lines
   * ({@code time=... level=... msg=...}) without their timestamp, and warnings or errors of its
   * libraries ({@code 2026-...Z WARN Class - text}); their info lines (cache syncs) are left to the
   * log file.
   */
  static Optional<String> gateSummary(String line) {
    Map<String, String> fields = parse(line);
    if (!fields.containsKey("msg")) {
      Matcher library = LIBRARY_LINE.matcher(line);
      if (library.matches()) {
        return "INFO".equals(library.group(1))
            ? Optional.empty()
            : Optional.of(library.group(1) + " " + library.group(2));
      }
      return line.isBlank() ? Optional.empty() : Optional.of(line);
    }
    String level = fields.getOrDefault("level", "info");
    if ("info".equals(level) && fields.containsKey("logger")) {
      return Optional.empty(); // a component's own progress (cache syncs): the log file has it
    }
    StringBuilder text = new StringBuilder();
    if (!"info".equals(level)) {
      text.append(level.toUpperCase(Locale.ROOT)).append(' ');
    }
    text.append(fields.get("msg"));
    int shown = 0;
    for (Map.Entry<String, String> field : fields.entrySet()) {
      if (HIDDEN_FIELDS.contains(field.getKey())) {
        continue;
      }
      if (shown++ == MAX_FIELDS) {
        text.append(" ...");
        break;
      }
      String value = field.getValue();
      if (value.length() > MAX_VALUE) {
        value = value.substring(0, MAX_VALUE) + "...";
      }
      text.append(' ').append(field.getKey()).append('=').append(value);
    }
    return Optional.of(text.toString());
  }

  /** The waiter's line: its message, with the Job when the message does not name it. */
  static String waiterSummary(String line) {
    Map<String, String> fields = parse(line);
    if (!fields.containsKey("msg")) {
      return line;
    }
    String job = fields.get("job");
    StringBuilder text = new StringBuilder();
    if (job != null && !fields.get("msg").contains(job)) {
      text.append(job).append(' ');
    }
    return text.append(fields.get("msg")).toString();
  }
}
