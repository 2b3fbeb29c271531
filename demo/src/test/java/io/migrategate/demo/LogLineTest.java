package io.migrategate.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Optional;
import org.junit.jupiter.api.Test;

class LogLineTest {
  @Test
  void waiterLinesKeepTheirMessage() {
    assertEquals(
        "shop/shop-migrate-v2 not found, waiting for it to be created",
        LogLine.waiterSummary(
            "ts=2026-11-21T20:44:18.1Z level=info job=shop/shop-migrate-v2 event=not_found"
                + " msg=\"shop/shop-migrate-v2 not found, waiting for it to be created\""));
    assertEquals(
        "shop/db running (1 active)",
        LogLine.waiterSummary(
            "ts=2026-11-21T20:44:18.1Z level=info job=shop/db event=running msg=\"running (1"
                + " active)\""));
    assertEquals("not key=value at all", LogLine.waiterSummary("not key=value at all"));
  }

  @Test
  void gateLinesLoseTheirTimestampAndKeepAFewFields() {
    assertEquals(
        Optional.of("started port=8443 namespace=migrate-gate"),
        LogLine.gateSummary(
            "time=2026-11-21T21:38:04.48Z level=info msg=started port=8443"
                + " namespace=migrate-gate"));
    assertEquals(
        Optional.of("WARN kubernetes api unreachable api=x y"),
        LogLine.gateSummary(
            "time=2026-11-21T21:38:04.48Z level=warn msg=\"kubernetes api unreachable\""
                + " api=\"x y\""));
    assertEquals(
        Optional.of("tls ready a=1 b=2 c=3 ..."),
        LogLine.gateSummary("time=t level=info msg=\"tls ready\" a=1 b=2 c=3 d=4"));
  }

  @Test
  void componentProgressStaysInTheLogFile() {
    assertEquals(
        Optional.empty(),
        LogLine.gateSummary(
            "time=t level=info msg=\"owner cache\" kind=DaemonSet state=synced"
                + " logger=KubernetesOwnerLookup"));
    assertEquals(
        Optional.empty(),
        LogLine.gateSummary(
            "2026-11-21T21:38:04.290Z INFO KubernetesOwnerLookup - owner cache kind=DaemonSet"));
    assertEquals(
        Optional.of("WARN watch closed"),
        LogLine.gateSummary(
            "2026-11-21T21:38:04.290Z WARN WatcherWebSocketListener - watch closed"));
    assertEquals(
        Optional.of("WARN owner cache failing kind=ReplicaSet"),
        LogLine.gateSummary(
            "time=t level=warn msg=\"owner cache failing\" kind=ReplicaSet logger=X"));
  }
}
