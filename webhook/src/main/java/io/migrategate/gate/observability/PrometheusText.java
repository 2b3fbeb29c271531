package io.migrategate.gate.observability;

import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * Writes the Prometheus text exposition format (0.0.4): the one place for its syntax, used by every
 * part of the gate that contributes to {@code /metrics}. Label sets are passed rendered, without
 * braces ({@code outcome="injected",reason="injected"}); {@link #label} renders one pair.
 */
public final class PrometheusText {
  /** Longest label value written; longer values (from user input) are cut. */
  static final int MAX_LABEL_VALUE = 120;

  private final StringBuilder out;

  public PrometheusText() {
    this(new StringBuilder(1024));
  }

  /** Appends to {@code out}. */
  public PrometheusText(StringBuilder out) {
    this.out = out;
  }

  /** Starts a metric family: its HELP and TYPE lines. */
  public PrometheusText family(String name, String type, String help) {
    out.append("# HELP ").append(name).append(' ').append(help).append('\n');
    out.append("# TYPE ").append(name).append(' ').append(type).append('\n');
    return this;
  }

  /** A family of one unlabelled gauge. */
  public PrometheusText gauge(String name, String help, long value) {
    return family(name, "gauge", help).sample(name, value);
  }

  /** A family of one unlabelled counter. */
  public PrometheusText counter(String name, String help, long value) {
    return family(name, "counter", help).sample(name, value);
  }

  public PrometheusText sample(String name, long value) {
    out.append(name).append(' ').append(value).append('\n');
    return this;
  }

  public PrometheusText sample(String name, String labels, long value) {
    return sample(name, labels, Long.toString(value));
  }

  /** A sample whose value is already formatted (see {@link #number}); no labels when empty. */
  public PrometheusText sample(String name, String labels, String value) {
    out.append(name);
    if (!labels.isEmpty()) {
      out.append('{').append(labels).append('}');
    }
    out.append(' ').append(value).append('\n');
    return this;
  }

  /**
   * One sample per entry, keyed by rendered label sets, in label order: successive scrapes list the
   * series alike.
   */
  public PrometheusText countersByLabels(String name, Map<String, LongAdder> counters) {
    new TreeMap<>(counters).forEach((labels, n) -> sample(name, labels, n.sum()));
    return this;
  }

  /** One sample per entry, keyed by the value of one label, in value order. */
  public PrometheusText countersBy(String name, String label, Map<String, LongAdder> counters) {
    new TreeMap<>(counters).forEach((value, n) -> sample(name, label(label, value), n.sum()));
    return this;
  }

  /** One rendered label pair, the value escaped. */
  public static String label(String name, String value) {
    return name + "=\"" + escape(value) + "\"";
  }

  /**
   * A label value per the exposition format: backslash, double quote and newline escaped, cut at
   * {@value #MAX_LABEL_VALUE} characters.
   */
  public static String escape(String value) {
    StringBuilder escaped = new StringBuilder(value.length());
    for (int i = 0; i < value.length() && i < MAX_LABEL_VALUE; i++) {
      char c = value.charAt(i);
      switch (c) {
        case '\\' -> escaped.append("\\\\");
        case '"' -> escaped.append("\\\"");
        case '\n' -> escaped.append("\\n");
        default -> escaped.append(c);
      }
    }
    return escaped.toString();
  }

  /** A decimal number with at most six fraction digits and no trailing zeros ({@code 0.005}). */
  public static String number(double value) {
    String text = String.format(Locale.ROOT, "%.6f", value);
    text = text.replaceAll("0+$", "");
    return text.endsWith(".") ? text + "0" : text;
  }

  @Override
  public String toString() {
    return out.toString();
  }
}
