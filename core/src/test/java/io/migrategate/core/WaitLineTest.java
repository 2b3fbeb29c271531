package io.migrategate.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

/** The wait API's lines exactly as they go over the wire (docs/gate-wait-api.md), both ways. */
class WaitLineTest {

  @Test
  void jobLinesCarryTheVerdictAndRoundTrip() {
    WaitLine.Job line =
        WaitLine.Job.of(
            "migrate",
            true,
            "tracker",
            "uid-1",
            new JobVerdict(
                JobVerdict.Phase.FAILED,
                "failed: BackoffLimitExceeded",
                "BackoffLimitExceeded",
                "Job has reached the specified backoff limit"),
            "failed: BackoffLimitExceeded");
    String wire = WaitLine.encode(line);
    assertEquals(
        "{\"type\":\"job\",\"job\":\"migrate\",\"found\":true,\"source\":\"tracker\","
            + "\"uid\":\"uid-1\",\"phase\":\"FAILED\",\"reason\":\"BackoffLimitExceeded\","
            + "\"message\":\"Job has reached the specified backoff limit\","
            + "\"line\":\"failed: BackoffLimitExceeded\"}",
        wire);
    WaitLine.Job read = (WaitLine.Job) WaitLine.decode(wire);
    assertEquals(line, read);
    assertEquals(JobVerdict.Phase.FAILED, read.verdict().phase());
    assertEquals("BackoffLimitExceeded", read.verdict().reason());
  }

  @Test
  void aMissingJobHasNoVerdictAndOmitsItsFields() {
    String wire =
        WaitLine.encode(WaitLine.Job.of("migrate", false, "tracker", null, null, "not found"));
    assertEquals(
        "{\"type\":\"job\",\"job\":\"migrate\",\"found\":false,\"source\":\"tracker\","
            + "\"line\":\"not found\"}",
        wire);
    assertNull(((WaitLine.Job) WaitLine.decode(wire)).verdict());
  }

  @Test
  void aPhaseOfANewerGateIsNoVerdictRatherThanAnError() {
    WaitLine read =
        WaitLine.decode(
            "{\"type\":\"job\",\"job\":\"m\",\"found\":true,\"source\":\"x\",\"phase\":\"PAUSED\"}");
    assertNull(((WaitLine.Job) read).verdict());
  }

  @Test
  void verdictNoticeHeartbeatAndErrorLines() {
    assertEquals(
        "{\"type\":\"verdict\",\"outcome\":\"SUCCEEDED\",\"line\":\"jobs a,b succeeded\"}",
        WaitLine.encode(new WaitLine.Verdict("SUCCEEDED", null, "jobs a,b succeeded")));
    assertEquals(
        "{\"type\":\"notice\",\"event\":\"syncing\",\"message\":\"wait \\\"here\\\"\"}",
        WaitLine.encode(new WaitLine.Notice("syncing", "wait \"here\"")));
    assertEquals("{\"type\":\"heartbeat\"}", WaitLine.encode(new WaitLine.Heartbeat()));
    String error = WaitLine.encode(new WaitLine.Error(429, "too_many_streams", "at most 64"));
    assertEquals(
        "{\"type\":\"error\",\"code\":429,\"reason\":\"too_many_streams\",\"message\":\"at most 64\"}",
        error);
    for (WaitLine line :
        new WaitLine[] {
          new WaitLine.Verdict("FAILED", "m", "failed"),
          new WaitLine.Notice("stopping", "bye"),
          new WaitLine.Heartbeat(),
          new WaitLine.Error(429, "too_many_streams", "at most 64")
        }) {
      assertEquals(line, WaitLine.decode(WaitLine.encode(line)));
    }
  }

  @Test
  void unknownTypesAndNonObjectsAreIgnorableButNotJsonIsAnError() {
    assertEquals(new WaitLine.Other("progress"), WaitLine.decode("{\"type\":\"progress\"}"));
    assertEquals(new WaitLine.Other("null"), WaitLine.decode("[1,2]"));
    assertThrows(IllegalArgumentException.class, () -> WaitLine.decode("<html>502</html>"));
  }
}
