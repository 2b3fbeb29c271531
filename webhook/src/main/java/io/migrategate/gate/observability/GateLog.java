package io.migrategate.gate.observability;

import io.migrategate.gate.GateConfig;
import java.io.PrintStream;
import java.time.Instant;

/**
 * The gate's own log: one line per state transition (started, tls reloaded, ready/not ready,
 * draining, stopped), as {@code key=value} text or JSON. Never one line per request.
 */
public final class GateLog implements io.migrategate.gate.tls.TlsEventLog {
  private final GateConfig.LogFormat format;
  private final PrintStream out;

  public GateLog(GateConfig.LogFormat format, PrintStream out) {
    this.format = format;
    this.out = out;
  }

  @Override
  public void info(String message, Object... keyValues) {
    write("info", message, keyValues);
  }

  @Override
  public void warn(String message, Object... keyValues) {
    write("warn", message, keyValues);
  }

  public void error(String message, Object... keyValues) {
    write("error", message, keyValues);
  }

  /** Where library messages (SLF4J, see {@link GateLogProvider}) go; text on stderr until set. */
  private static volatile GateLog libraries = new GateLog(GateConfig.LogFormat.TEXT, System.err);

  public static void useForLibraries(GateLog log) {
    libraries = log;
  }

  static GateLog libraries() {
    return libraries;
  }

  void write(String level, String message, Object... keyValues) {
    StringBuilder line = new StringBuilder(160);
    String time = Instant.now().toString();
    if (format == GateConfig.LogFormat.JSON) {
      line.append("{\"time\":");
      json(line, time);
      line.append(",\"level\":");
      json(line, level);
      line.append(",\"msg\":");
      json(line, message);
      for (int i = 0; i + 1 < keyValues.length; i += 2) {
        line.append(',');
        json(line, String.valueOf(keyValues[i]));
        line.append(':');
        Object value = keyValues[i + 1];
        if (value instanceof Number || value instanceof Boolean) {
          line.append(value);
        } else {
          json(line, format(value));
        }
      }
      line.append('}');
    } else {
      line.append("time=").append(time).append(" level=").append(level).append(" msg=");
      text(line, message);
      for (int i = 0; i + 1 < keyValues.length; i += 2) {
        line.append(' ').append(keyValues[i]).append('=');
        text(line, format(keyValues[i + 1]));
      }
    }
    // One println per line so lines from different threads never interleave.
    out.println(line);
  }

  /** Durations as written on the command line (5s, 500ms), not ISO-8601 (PT5S). */
  private static String format(Object value) {
    if (value instanceof java.time.Duration duration) {
      long millis = duration.toMillis();
      return millis % 1000 == 0 ? millis / 1000 + "s" : millis + "ms";
    }
    return String.valueOf(value);
  }

  private static void text(StringBuilder line, String value) {
    boolean plain = !value.isEmpty();
    for (int i = 0; i < value.length() && plain; i++) {
      char c = value.charAt(i);
      plain = c > ' ' && c != '"' && c != '=' && c != '\\' && c < 0x7f;
    }
    if (plain) {
      line.append(value);
    } else {
      json(line, value);
    }
  }

  private static void json(StringBuilder line, String value) {
    line.append('"');
    for (int i = 0; i < value.length(); i++) {
      char c = value.charAt(i);
      switch (c) {
        case '"' -> line.append("\\\"");
        case '\\' -> line.append("\\\\");
        case '\n' -> line.append("\\n");
        case '\r' -> line.append("\\r");
        case '\t' -> line.append("\\t");
        default -> {
          if (c < 0x20) {
            line.append(String.format("\\u%04x", (int) c));
          } else {
            line.append(c);
          }
        }
      }
    }
    line.append('"');
  }
}
