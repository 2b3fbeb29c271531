package io.migrategate.gate.observability;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.migrategate.gate.GateFixture;
import org.junit.jupiter.api.Test;

class GateMetricsTest {
  @Test
  void latencyBucketsAreCumulativeAndTheCountIsTheInfBucket() {
    GateMetrics metrics = new GateMetrics();
    metrics.observeAdmission(300_000); // 0.3 ms
    metrics.observeAdmission(3_000_000); // 3 ms
    metrics.observeAdmission(2_000_000_000L); // 2 s

    String text = metrics.render();

    assertEquals(
        1.0,
        GateFixture.metricValue(
            text, "migrate_gate_admission_duration_seconds_bucket{le=\"0.0005\"}"));
    assertEquals(
        1.0,
        GateFixture.metricValue(
            text, "migrate_gate_admission_duration_seconds_bucket{le=\"0.0025\"}"));
    assertEquals(
        2.0,
        GateFixture.metricValue(
            text, "migrate_gate_admission_duration_seconds_bucket{le=\"0.005\"}"));
    assertEquals(
        2.0,
        GateFixture.metricValue(
            text, "migrate_gate_admission_duration_seconds_bucket{le=\"1.0\"}"));
    assertEquals(
        3.0,
        GateFixture.metricValue(
            text, "migrate_gate_admission_duration_seconds_bucket{le=\"+Inf\"}"));
    assertEquals(
        3.0, GateFixture.metricValue(text, "migrate_gate_admission_duration_seconds_count"));
    assertEquals(
        2.0033, GateFixture.metricValue(text, "migrate_gate_admission_duration_seconds_sum"), 1e-6);
    assertTrue(text.contains("# TYPE migrate_gate_admission_duration_seconds histogram"));
  }

  @Test
  void labelValuesAreEscapedAndTheirNumberIsCapped() {
    GateMetrics metrics = new GateMetrics();
    metrics.countReview("skipped", "a \"quoted\"\\reason\n", false);
    for (int i = 0; i < GateMetrics.MAX_LABEL_SETS + 50; i++) {
      metrics.countReview("denied", "reason-" + i, false);
    }

    String text = metrics.render();

    assertTrue(
        text.contains(
            "migrate_gate_admission_reviews_total{outcome=\"skipped\",reason=\"a \\\"quoted\\\"\\\\reason\\n\",dry_run=\"false\"} 1"),
        text);
    long series =
        text.lines().filter(l -> l.startsWith("migrate_gate_admission_reviews_total{")).count();
    assertTrue(series <= GateMetrics.MAX_LABEL_SETS + 1, "series: " + series);
    assertTrue(
        text.contains("migrate_gate_admission_reviews_total{outcome=\"denied\",reason=\"other\"}"),
        text);
  }
}
