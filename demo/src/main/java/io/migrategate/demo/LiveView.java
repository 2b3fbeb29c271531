package io.migrategate.demo;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The demo's terminal output: one line per state transition, prefixed with the time since the demo
 * started, never a redrawing screen (so it reads the same in a CI log). Colours only when asked for
 * (a terminal that supports them); the text is the same without them.
 */
final class LiveView {
  /** What a line is about; decides its colour and its tag column. */
  enum Kind {
    STEP("", Style.BOLD),
    OK("ok", Style.GREEN),
    FAIL("FAIL", Style.RED),
    NOTE("note", Style.YELLOW),
    INFO("", Style.PLAIN),
    POD("pod", Style.CYAN),
    JOB("job", Style.MAGENTA),
    WAITER("wait", Style.DIM),
    GATE("gate", Style.DIM);

    final String tag;
    final Style style;

    Kind(String tag, Style style) {
      this.tag = tag;
      this.style = style;
    }
  }

  enum Style {
    PLAIN(""),
    BOLD("\u001b[1m"),
    DIM("\u001b[2m"),
    RED("\u001b[31m"),
    GREEN("\u001b[32m"),
    YELLOW("\u001b[33m"),
    MAGENTA("\u001b[35m"),
    CYAN("\u001b[36m");

    final String ansi;

    Style(String ansi) {
      this.ansi = ansi;
    }
  }

  private static final String RESET = "\u001b[0m";

  private final PrintStream out;
  private final boolean color;
  private final long startNanos;

  LiveView(PrintStream out, boolean color, long startNanos) {
    this.out = out;
    this.color = color;
    this.startNanos = startNanos;
  }

  /** Seconds since the demo started. */
  double elapsedSeconds() {
    return (System.nanoTime() - startNanos) / 1e9;
  }

  /** {@code +12.3s pod shop-abc (v2) text}. */
  synchronized void line(Kind kind, String subject, String text) {
    StringBuilder line = new StringBuilder();
    line.append(paint(Style.DIM, String.format(Locale.ROOT, "+%05.1fs", elapsedSeconds())));
    line.append("  ");
    String tag = String.format(Locale.ROOT, "%-6s", kind.tag);
    line.append(kind.tag.isEmpty() ? tag : paint(kind.style, tag));
    line.append(' ');
    if (subject != null && !subject.isEmpty()) {
      line.append(paint(kind == Kind.WAITER ? Style.CYAN : kind.style, pad(subject, 30)));
      line.append(' ');
    }
    line.append(kind == Kind.STEP ? paint(Style.BOLD, text) : paintText(kind, text));
    out.println(line.toString().stripTrailing());
    out.flush();
  }

  void step(String text) {
    line(Kind.STEP, null, text);
  }

  void ok(String text) {
    line(Kind.OK, null, text);
  }

  void note(String text) {
    line(Kind.NOTE, null, text);
  }

  void info(String text) {
    line(Kind.INFO, null, text);
  }

  /** A scenario title, with a blank line before it. */
  synchronized void heading(String text) {
    out.println();
    out.println(paint(Style.BOLD, "== " + text + " =="));
    out.flush();
  }

  /** Plain text, indented, no timestamp (the help, the --keep instructions). */
  synchronized void plain(String text) {
    out.println(text);
    out.flush();
  }

  /** A compact table; the first row is the header. */
  synchronized void table(List<List<String>> rows) {
    if (rows.isEmpty()) {
      return;
    }
    List<Integer> widths = new ArrayList<>();
    for (List<String> row : rows) {
      for (int i = 0; i < row.size(); i++) {
        int width = row.get(i).length();
        if (widths.size() <= i) {
          widths.add(width);
        } else {
          widths.set(i, Math.max(widths.get(i), width));
        }
      }
    }
    for (int r = 0; r < rows.size(); r++) {
      List<String> row = rows.get(r);
      StringBuilder line = new StringBuilder("        ");
      for (int i = 0; i < row.size(); i++) {
        String cell = i == row.size() - 1 ? row.get(i) : pad(row.get(i), widths.get(i));
        line.append(r == 0 ? paint(Style.BOLD, cell) : cell).append("  ");
      }
      out.println(line.toString().stripTrailing());
    }
    out.flush();
  }

  private String paintText(Kind kind, String text) {
    return switch (kind) {
      case OK -> paint(Style.GREEN, text);
      case FAIL -> paint(Style.RED, text);
      case NOTE -> paint(Style.YELLOW, text);
      case WAITER, GATE -> paint(Style.DIM, text);
      default -> text;
    };
  }

  String paint(Style style, String text) {
    if (!color || style == Style.PLAIN || text.isEmpty()) {
      return text;
    }
    return style.ansi + text + RESET;
  }

  private static String pad(String text, int width) {
    if (text.length() >= width) {
      return text;
    }
    return text + " ".repeat(width - text.length());
  }
}
