package io.migrategate.gate.tls;

import java.io.PrintStream;
import java.time.Instant;

/**
 * Where TLS state transitions are logged (CA created/adopted/rotated, serving certificate issued,
 * caBundle patched or out of sync), as a message plus key/value pairs. The gate's own log
 * implements it; {@link #keyValue(PrintStream)} is a plain key=value writer for tests and tools.
 */
public interface TlsEventLog {
  void info(String message, Object... keyValues);

  void warn(String message, Object... keyValues);

  /** {@code time=... level=... msg=... key=value ...} lines, one println each. */
  static TlsEventLog keyValue(PrintStream out) {
    return new TlsEventLog() {
      @Override
      public void info(String message, Object... keyValues) {
        write("info", message, keyValues);
      }

      @Override
      public void warn(String message, Object... keyValues) {
        write("warn", message, keyValues);
      }

      private void write(String level, String message, Object... keyValues) {
        StringBuilder line = new StringBuilder(160);
        line.append("time=").append(Instant.now()).append(" level=").append(level);
        line.append(" msg=").append(quoted(message));
        for (int i = 0; i + 1 < keyValues.length; i += 2) {
          line.append(' ').append(keyValues[i]).append('=').append(quoted(keyValues[i + 1]));
        }
        out.println(line);
      }

      private String quoted(Object value) {
        String text = String.valueOf(value);
        boolean plain = !text.isEmpty() && text.chars().allMatch(c -> c > ' ' && c != '"');
        return plain ? text : '"' + text.replace("\\", "\\\\").replace("\"", "\\\"") + '"';
      }
    };
  }
}
