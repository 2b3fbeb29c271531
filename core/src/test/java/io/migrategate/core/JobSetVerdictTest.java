package io.migrategate.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.migrategate.core.JobSetVerdict.Outcome;
import io.migrategate.core.JobVerdict.Phase;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

class JobSetVerdictTest {
  static final JobVerdict SUCCEEDED = new JobVerdict(Phase.SUCCEEDED, "succeeded", null, null);
  static final JobVerdict RUNNING = new JobVerdict(Phase.RUNNING, "running (1 active)", null, null);

  static JobVerdict failed(String reason) {
    return new JobVerdict(Phase.FAILED, "failed: " + reason, reason, null);
  }

  private static Map<String, JobVerdict> of(Object... pairs) {
    Map<String, JobVerdict> map = new LinkedHashMap<>();
    for (int i = 0; i < pairs.length; i += 2) {
      map.put((String) pairs[i], (JobVerdict) pairs[i + 1]);
    }
    return map;
  }

  @Test
  void succeedsOnlyWhenEveryJobSucceeded() {
    assertEquals(Outcome.SUCCEEDED, JobSetVerdict.of(of("a", SUCCEEDED, "b", SUCCEEDED)).outcome());
    assertEquals(Outcome.WAITING, JobSetVerdict.of(of("a", SUCCEEDED, "b", RUNNING)).outcome());
    assertEquals(Outcome.WAITING, JobSetVerdict.of(of("a", SUCCEEDED, "b", null)).outcome());
  }

  @Test
  void theFirstFailureInThePodsOrderDecides() {
    JobSetVerdict verdict =
        JobSetVerdict.of(of("a", RUNNING, "b", failed("DeadlineExceeded"), "c", failed("Other")));
    assertEquals(Outcome.FAILED, verdict.outcome());
    assertEquals("b", verdict.decidingJob());
    assertEquals("DeadlineExceeded", verdict.decidingVerdict().reason());
  }

  @Test
  void waitingHasNoDecidingJob() {
    JobSetVerdict verdict = JobSetVerdict.of(of("a", RUNNING));
    assertNull(verdict.decidingJob());
    assertEquals(false, verdict.isTerminal());
  }

  @Test
  void aPodWaitsForAtLeastOneJob() {
    assertThrows(IllegalArgumentException.class, () -> JobSetVerdict.of(Map.of()));
  }
}
