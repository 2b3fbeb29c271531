package io.migrategate.gate.observability;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Map;
import java.util.concurrent.atomic.LongAdder;
import org.junit.jupiter.api.Test;

/** The exposition syntax every part of /metrics shares. */
class PrometheusTextTest {

  @Test
  void familiesAndSamplesInTheTextFormat() {
    String text =
        new PrometheusText()
            .gauge("g", "A gauge.", 3)
            .family("c_total", "counter", "A counter.")
            .sample("c_total", PrometheusText.label("result", "success"), 2)
            .sample("h_sum", "", PrometheusText.number(0.25))
            .toString();
    assertEquals(
        "# HELP g A gauge.\n"
            + "# TYPE g gauge\n"
            + "g 3\n"
            + "# HELP c_total A counter.\n"
            + "# TYPE c_total counter\n"
            + "c_total{result=\"success\"} 2\n"
            + "h_sum 0.25\n",
        text);
  }

  @Test
  void countersAreListedInLabelOrder() {
    String text =
        new PrometheusText()
            .countersBy("r_total", "code", Map.of("403", adder(1), "200", adder(5)))
            .countersByLabels("x_total", Map.of("b=\"2\"", adder(2), "a=\"1\"", adder(1)))
            .toString();
    assertEquals(
        "r_total{code=\"200\"} 5\n"
            + "r_total{code=\"403\"} 1\n"
            + "x_total{a=\"1\"} 1\n"
            + "x_total{b=\"2\"} 2\n",
        text);
  }

  @Test
  void labelValuesAreEscapedAndCut() {
    assertEquals("a\\\\b\\\"c\\nd", PrometheusText.escape("a\\b\"c\nd"));
    assertEquals(PrometheusText.MAX_LABEL_VALUE, PrometheusText.escape("x".repeat(500)).length());
  }

  @Test
  void numbersHaveNoTrailingZeros() {
    assertEquals("0.0005", PrometheusText.number(0.0005));
    assertEquals("1.0", PrometheusText.number(1));
    assertEquals("0.0", PrometheusText.number(0));
  }

  private static LongAdder adder(long value) {
    LongAdder adder = new LongAdder();
    adder.add(value);
    return adder;
  }
}
