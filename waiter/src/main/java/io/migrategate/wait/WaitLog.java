package io.migrategate.wait;

import io.migrategate.wait.WaiterConfig.LogFormat;
import java.io.PrintStream;
import java.time.Clock;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The waiter's log: one line per state transition, as key=value text or JSON lines. The keys are
 * fixed ({@code ts level job event msg} plus a few extras), so log pipelines can rely on them.
 */
final class WaitLog {
  private final LogFormat format;
  private final PrintStream out;
  private final Clock clock;

  WaitLog(LogFormat format, PrintStream out, Clock clock) {
    this.format = format;
    this.out = out;
    this.clock = clock;
  }

  void info(String job, String event, String message) {
    write("info", job, event, message, Map.of());
  }

  void info(String job, String event, String message, Map<String, String> extra) {
    write("info", job, event, message, extra);
  }

  void error(String job, String event, String message) {
    write("error", job, event, message, Map.of());
  }

  private void write(
      String level, String job, String event, String message, Map<String, String> extra) {
    Map<String, String> fields = new LinkedHashMap<>();
    fields.put("ts", Instant.now(clock).toString());
    fields.put("level", level);
    if (job != null) {
      fields.put("job", job);
    }
    fields.put("event", event);
    fields.putAll(extra);
    fields.put("msg", message);
    out.println(format == LogFormat.JSON ? json(fields) : text(fields));
    out.flush();
  }

  private static String text(Map<String, String> fields) {
    StringBuilder line = new StringBuilder();
    fields.forEach(
        (key, value) -> {
          if (line.length() > 0) {
            line.append(' ');
          }
          line.append(key).append('=');
          boolean plain = !value.isEmpty() && value.chars().noneMatch(c -> c <= ' ' || c == '"');
          line.append(
              plain
                  ? value
                  : '"'
                      + value.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n")
                      + '"');
        });
    return line.toString();
  }

  private static String json(Map<String, String> fields) {
    StringBuilder line = new StringBuilder("{");
    fields.forEach(
        (key, value) -> {
          if (line.length() > 1) {
            line.append(',');
          }
          line.append('"').append(key).append("\":\"");
          escapeJson(value, line);
          line.append('"');
        });
    return line.append('}').toString();
  }

  private static void escapeJson(String value, StringBuilder out) {
    for (int i = 0; i < value.length(); i++) {
      char c = value.charAt(i);
      switch (c) {
        case '"' -> out.append("\\\"");
        case '\\' -> out.append("\\\\");
        case '\n' -> out.append("\\n");
        case '\r' -> out.append("\\r");
        case '\t' -> out.append("\\t");
        default -> {
          if (c < 0x20) {
            out.append(String.format("\\u%04x", (int) c));
          } else {
            out.append(c);
          }
        }
      }
    }
  }
}
